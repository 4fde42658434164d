package io.jvdpa.net;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Counters with one writing thread and any number of readers: opaque stores and loads, so the data path pays no
 * fence and a reader still sees the values move (a little behind, never torn).
 */
final class Counters {
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private final long[] values;

    Counters(int count) {
        this.values = new long[count];
    }

    /** Writer thread only. */
    void add(int counter, long delta) {
        LONGS.setOpaque(values, counter, (long) LONGS.getOpaque(values, counter) + delta);
    }

    void increment(int counter) {
        add(counter, 1);
    }

    long get(int counter) {
        return (long) LONGS.getOpaque(values, counter);
    }
}

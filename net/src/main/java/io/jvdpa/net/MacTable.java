package io.jvdpa.net;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A learning switch's forwarding table: MAC address to port, with ageing. Lookups and refreshing an entry that
 * did not move are lock-free and allocate nothing, so every frame can do both; adding an entry or moving one to
 * another port takes a lock (that happens once per station, not per frame).
 *
 * <p>Open addressing with linear probing over a fixed number of slots. Slots are never emptied, only aged:
 * an aged slot reads as absent and is reused by the next insertion that passes it, so probe sequences never
 * break.
 */
final class MacTable {
    private final int mask;
    private final long agingNanos;
    private final AtomicLongArray keys;      // mac + 1; 0 = never used
    private final AtomicIntegerArray ports;
    private final AtomicLongArray lastSeen;

    MacTable(int capacity, long agingNanos) {
        if (capacity < 2 || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("table capacity must be a power of two, was " + capacity);
        }
        this.mask = capacity - 1;
        this.agingNanos = agingNanos;
        this.keys = new AtomicLongArray(capacity);
        this.ports = new AtomicIntegerArray(capacity);
        this.lastSeen = new AtomicLongArray(capacity);
    }

    private int home(long mac) {
        return (int) ((mac * 0x9E37_79B9_7F4A_7C15L) >>> 40) & mask;
    }

    private boolean fresh(int slot, long now) {
        return now - lastSeen.get(slot) <= agingNanos;
    }

    /** The port {@code mac} was last seen on, or -1 if unknown or aged out. */
    int lookup(long mac, long now) {
        long key = mac + 1;
        int slot = home(mac);
        for (int i = 0; i <= mask; i++) {
            long k = keys.get(slot);
            if (k == 0) {
                return -1;
            }
            if (k == key) {
                return fresh(slot, now) ? ports.get(slot) : -1;
            }
            slot = (slot + 1) & mask;
        }
        return -1;
    }

    /** Records that {@code mac} was seen on {@code port} at {@code now}. */
    void learn(long mac, int port, long now) {
        long key = mac + 1;
        int slot = home(mac);
        for (int i = 0; i <= mask; i++) {
            long k = keys.get(slot);
            if (k == key) {
                if (ports.get(slot) == port) {
                    lastSeen.lazySet(slot, now);
                    return;
                }
                break;
            }
            if (k == 0) {
                break;
            }
            slot = (slot + 1) & mask;
        }
        insert(mac, port, now);
    }

    private synchronized void insert(long mac, int port, long now) {
        long key = mac + 1;
        int slot = home(mac);
        int reusable = -1;
        for (int i = 0; i <= mask; i++) {
            long k = keys.get(slot);
            if (k == key) {
                ports.set(slot, port);
                lastSeen.set(slot, now);
                return;
            }
            if (k == 0) {
                break;
            }
            if (reusable < 0 && !fresh(slot, now)) {
                reusable = slot;
            }
            slot = (slot + 1) & mask;
        }
        int target = reusable >= 0 ? reusable : keys.get(slot) == 0 ? slot : -1;
        if (target < 0) {
            return; // full of live stations: frames to this one are flooded
        }
        // The port and time first, then the key that makes the slot visible to lock-free lookups.
        ports.set(target, port);
        lastSeen.set(target, now);
        keys.set(target, key);
    }

    /** Ages out every entry of {@code port} at once (its device left). */
    synchronized void forget(int port) {
        for (int slot = 0; slot <= mask; slot++) {
            if (keys.get(slot) != 0 && ports.get(slot) == port) {
                lastSeen.set(slot, Long.MIN_VALUE / 2);
            }
        }
    }
}

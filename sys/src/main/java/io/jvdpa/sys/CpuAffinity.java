package io.jvdpa.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;

/**
 * The CPUs a thread may run on (sched_setaffinity(2)): a busy-polling data-path thread pinned to a CPU of its
 * own keeps its rings' cache lines there and is never moved by the scheduler.
 */
public final class CpuAffinity {
    /** glibc's cpu_set_t: 1024 CPUs, bit {@code cpu % 8} of byte {@code cpu / 8}. */
    public static final int MAX_CPUS = 1024;
    private static final int MASK_BYTES = MAX_CPUS / 8;

    private CpuAffinity() {}

    /** The CPUs the calling thread may run on now. */
    public static BitSet ofCurrentThread() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(MASK_BYTES, 8);
            if (Libc.schedGetaffinity(0, MASK_BYTES, mask) < 0) {
                throw new LinuxException("sched_getaffinity", "calling thread", Libc.errno());
            }
            // BitSet.valueOf reads bit i of byte j as bit 8j+i: the kernel's layout.
            return BitSet.valueOf(mask.toArray(JAVA_BYTE));
        }
    }

    /** Lets the calling thread run on {@code cpu} alone. */
    public static void pinCurrentThread(int cpu) throws LinuxException {
        if (cpu < 0 || cpu >= MAX_CPUS) {
            throw new IllegalArgumentException("CPU " + cpu + " is outside 0.." + (MAX_CPUS - 1));
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(MASK_BYTES, 8);
            mask.set(JAVA_BYTE, cpu / 8, (byte) (1 << (cpu % 8)));
            if (Libc.schedSetaffinity(0, MASK_BYTES, mask) < 0) {
                throw new LinuxException("sched_setaffinity", "CPU " + cpu, Libc.errno());
            }
        }
    }
}

package io.jvdpa.virtqueue;

import java.lang.foreign.MemorySegment;

/**
 * A virtqueue seen from the driver: post buffers, decide about kicks, reap used buffers. Used by jvdpa's own
 * front-end, the tests and the benchmarks. One thread drives a queue; nothing allocates in steady state.
 *
 * <p>A buffer is {@code readable + writable} elements given as guest-physical addresses and lengths, the
 * device-readable ones first.
 */
public sealed interface DriverQueue permits SplitDriverQueue, PackedDriverQueue {

    static DriverQueue create(VirtqueueFeatures features, RingAreas areas, RingState start) {
        return features.packed()
                ? new PackedDriverQueue(features, areas.descriptors(), areas.driverArea(), areas.deviceArea(), start)
                : new SplitDriverQueue(features, areas.descriptors(), areas.driverArea(), areas.deviceArea(), start);
    }

    VirtqueueFeatures features();

    /** Descriptors free in the ring. */
    int freeDescriptors();

    /** Buffers posted and not yet reaped. */
    int inFlight();

    /**
     * Writes a buffer into the ring as a chain of direct descriptors; it becomes visible at {@link #publish()}.
     * Returns false, writing nothing, if the ring has too few free descriptors.
     */
    boolean post(long[] addrs, int[] lens, int readable, int writable, int token);

    /** Posts a one-element buffer. */
    default boolean post(long addr, int len, boolean writable, int token) {
        return post1(addr, len, writable, token);
    }

    boolean post1(long addr, int len, boolean writable, int token);

    /**
     * Writes a buffer as one descriptor pointing at an indirect table taken from the pool given to
     * {@link #setIndirectPool}. Needs VIRTIO_F_INDIRECT_DESC.
     */
    boolean postIndirect(long[] addrs, int[] lens, int readable, int writable, int token);

    /**
     * Gives the queue memory for indirect tables: one table of {@code maxPerTable} descriptors per possible
     * buffer, {@code queueSize * maxPerTable * 16} bytes at guest-physical {@code poolAddr}.
     */
    void setIndirectPool(MemorySegment pool, long poolAddr, int maxPerTable);

    /** Makes everything posted since the last publish visible to the device, with one release store. */
    void publish();

    /** After publish: whether the device wants an available buffer notification, read after a full fence. */
    boolean needsKick();

    /** Takes the next used buffer, or returns false if there is none. */
    boolean reap(UsedBuffer out);

    /** Asks the device not to send used buffer notifications. */
    void disableInterrupts();

    /** Asks for used buffer notifications again; true if used buffers arrived meanwhile (poll again). */
    boolean enableInterrupts();

    RingState state();
}

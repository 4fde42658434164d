package io.jvdpa.device;

import io.jvdpa.virtqueue.DescriptorChain;
import io.jvdpa.virtqueue.DeviceQueue;
import io.jvdpa.virtqueue.RingState;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One queue's record of requests in flight, kept in its slice of the shared inflight area (vhost-user "Inflight
 * I/O tracking"): every buffer taken from the ring is marked before the device acts on it and cleared once its
 * completion is published, so a back-end restarted after a crash knows which requests to resubmit, in the order
 * they were taken, and where the ring stands.
 *
 * <p>Completions are recorded in memory and written to the area around the publish of the used ring
 * ({@link #publish}), so a crash at any instruction leaves the area consistent with what the driver saw. Runs
 * on the queue's worker thread; nothing allocates after {@link #recover}.
 */
abstract sealed class InflightTracker permits SplitInflight, PackedInflight {
    static final Logger LOG = LoggerFactory.getLogger(InflightTracker.class);

    final MemorySegment area;
    final int size;
    final String label;
    /** Orders buffers by when they were taken; resubmission follows it. */
    long counter;
    private int[] resubmit = new int[0];
    private int resubmitNext;

    InflightTracker(MemorySegment area, int size, String label) {
        this.area = area;
        this.size = size;
        this.label = label;
    }

    /**
     * Starts tracking a ring the front-end set up. A fresh area is initialized; an area a previous back-end used
     * is brought to a consistent state (finishing or rolling back the batch it was publishing) and its in-flight
     * buffers become the resubmission list.
     *
     * @param ringState where the ring stands as opened from the front-end's SET_VRING_BASE (split: with the used
     *                  index read from the used ring)
     * @return where the ring must resume: after every buffer the previous back-end took
     */
    abstract RingState recover(RingState ringState);

    /** Records a buffer just popped from the ring, before the device acts on it. */
    abstract void popped(DescriptorChain chain);

    /** Records a buffer just added to the used ring (visible to the driver at {@link #publish}). */
    abstract void used(DescriptorChain chain);

    /** Publishes the ring's used entries with the area updated on both sides of the publish. */
    final void publish(DeviceQueue ring) {
        boolean batch = prePublish();
        ring.publishUsed();
        if (batch) {
            // Nothing written after the publish may be seen before it.
            VarHandle.storeStoreFence();
            postPublish();
        }
    }

    /** Writes the completions recorded since the last publish as the batch in progress; false if there are none. */
    abstract boolean prePublish();

    /** The batch is published: clears its entries and commits the area. */
    abstract void postPublish();

    /** Parses in-flight buffer {@code entry} again into {@code chain}. */
    abstract boolean retake(int entry, DeviceQueue ring, DescriptorChain chain);

    /** A new memory table moved the descriptor ring (packed rings read descriptors from it). */
    void descriptorRing(MemorySegment ring) {}

    /** Fills {@code chain} with the next buffer to resubmit; false once there are none left. */
    final boolean resubmit(DeviceQueue ring, DescriptorChain chain) {
        while (resubmitNext < resubmit.length) {
            int entry = resubmit[resubmitNext++];
            if (retake(entry, ring, chain)) {
                return true;
            }
            if (ring.isBroken()) {
                resubmitNext = resubmit.length;
            }
        }
        return false;
    }

    final boolean resubmitting() {
        return resubmitNext < resubmit.length;
    }

    /** Buffers still to resubmit. */
    final int pendingResubmissions() {
        return resubmit.length - resubmitNext;
    }

    /** Makes {@code entries} the resubmission list, ordered by their counters; the counter continues after them. */
    final void resubmitInOrder(int[] entries, java.util.function.IntToLongFunction counterOf) {
        resubmit = IntStream.of(entries).boxed().sorted(Comparator.comparingLong(counterOf::applyAsLong))
                .mapToInt(Integer::intValue).toArray();
        resubmitNext = 0;
        counter = Arrays.stream(entries).mapToLong(counterOf).max().orElse(-1) + 1;
    }

    final int u16(long offset) {
        return InflightLayout.ORDER.u16(area, offset);
    }

    final void putU16(long offset, int value) {
        InflightLayout.ORDER.putU16(area, offset, value);
    }

    final int u8(long offset) {
        return io.jvdpa.memory.Endianness.u8(area, offset);
    }

    final void putU8(long offset, int value) {
        io.jvdpa.memory.Endianness.putU8(area, offset, value);
    }

    final long u64(long offset) {
        return InflightLayout.ORDER.u64(area, offset);
    }

    final void putU64(long offset, long value) {
        InflightLayout.ORDER.putU64(area, offset, value);
    }
}

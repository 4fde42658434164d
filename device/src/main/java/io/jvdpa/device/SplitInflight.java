package io.jvdpa.device;

import static io.jvdpa.device.InflightLayout.DESC_NUM;
import static io.jvdpa.device.InflightLayout.SPLIT_COUNTER;
import static io.jvdpa.device.InflightLayout.SPLIT_INFLIGHT;
import static io.jvdpa.device.InflightLayout.SPLIT_LAST_BATCH_HEAD;
import static io.jvdpa.device.InflightLayout.SPLIT_NEXT;
import static io.jvdpa.device.InflightLayout.SPLIT_USED_IDX;
import static io.jvdpa.device.InflightLayout.VERSION_OFFSET;
import static io.jvdpa.device.InflightLayout.splitEntry;

import io.jvdpa.virtqueue.DescriptorChain;
import io.jvdpa.virtqueue.DeviceQueue;
import io.jvdpa.virtqueue.RingState;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Inflight tracking for a split ring (QueueRegionSplit): one entry per head descriptor, marked with a counter
 * when the head is popped; completions are chained through {@code next} from {@code last_batch_head} before the
 * used index is published, then cleared, then {@code used_idx} catches up with the ring's.
 */
final class SplitInflight extends InflightTracker {
    private final int[] batch;
    private int batchSize;
    /** The region's used_idx: the used ring's idx as of the last completed publish. */
    private int usedIdx;

    SplitInflight(MemorySegment area, int size, String label) {
        super(area, size, label);
        this.batch = new int[size];
    }

    @Override
    RingState recover(RingState ring) {
        int ringUsed = ring.nextUsed();
        if (InflightLayout.ORDER.u16(area, VERSION_OFFSET) == 0 || u16(DESC_NUM) != size) {
            if (InflightLayout.ORDER.u16(area, VERSION_OFFSET) != 0) {
                LOG.warn("{}: inflight area describes {} descriptors, the queue has {}: starting it afresh", label,
                        u16(DESC_NUM), size);
            }
            initialize(ringUsed);
            return ring;
        }
        int recorded = u16(SPLIT_USED_IDX);
        if (recorded != ringUsed) {
            // The previous back-end published a batch and died before clearing it: those heads are done.
            int published = (ringUsed - recorded) & 0xffff;
            if (published > size) {
                LOG.warn("{}: inflight area's used index {} is {} behind the ring's {}: starting it afresh", label,
                        recorded, published, ringUsed);
                initialize(ringUsed);
                return ring;
            }
            int head = u16(SPLIT_LAST_BATCH_HEAD);
            for (int i = 0; i < published && head < size; i++) {
                putU8(splitEntry(head) + SPLIT_INFLIGHT, 0);
                head = u16(splitEntry(head) + SPLIT_NEXT);
            }
            putU16(SPLIT_USED_IDX, ringUsed);
        }
        int[] inflight = java.util.stream.IntStream.range(0, size)
                .filter(i -> u8(splitEntry(i) + SPLIT_INFLIGHT) == 1).toArray();
        resubmitInOrder(inflight, i -> u64(splitEntry(i) + SPLIT_COUNTER));
        usedIdx = ringUsed;
        batchSize = 0;
        // Every buffer taken was either used (up to the ring's used idx) or is still in flight.
        return RingState.split((ringUsed + inflight.length) & 0xffff, ringUsed);
    }

    private void initialize(int ringUsed) {
        area.fill((byte) 0);
        putU16(DESC_NUM, size);
        putU16(SPLIT_USED_IDX, ringUsed);
        VarHandle.releaseFence();
        putU16(VERSION_OFFSET, InflightLayout.VERSION);
        usedIdx = ringUsed;
        batchSize = 0;
        counter = 0;
        resubmitInOrder(new int[0], i -> 0);
    }

    @Override
    void popped(DescriptorChain chain) {
        long entry = splitEntry(chain.headId());
        putU64(entry + SPLIT_COUNTER, counter++);
        // The counter is in place before the entry counts as in flight.
        VarHandle.releaseFence();
        putU8(entry + SPLIT_INFLIGHT, 1);
    }

    @Override
    void used(DescriptorChain chain) {
        if (batchSize < batch.length) {
            batch[batchSize++] = chain.headId();
        }
    }

    @Override
    boolean prePublish() {
        int n = batchSize;
        if (n == 0) {
            return false;
        }
        int last = u16(SPLIT_LAST_BATCH_HEAD);
        for (int i = 0; i < n; i++) {
            int head = batch[i];
            putU16(splitEntry(head) + SPLIT_NEXT, last);
            last = head;
        }
        putU16(SPLIT_LAST_BATCH_HEAD, last);
        return true;
    }

    @Override
    void postPublish() {
        int n = batchSize;
        for (int i = 0; i < n; i++) {
            putU8(splitEntry(batch[i]) + SPLIT_INFLIGHT, 0);
        }
        usedIdx = (usedIdx + n) & 0xffff;
        InflightLayout.ORDER.putU16Release(area, SPLIT_USED_IDX, usedIdx);
        batchSize = 0;
    }

    @Override
    boolean retake(int entry, DeviceQueue ring, DescriptorChain chain) {
        return ring.chainAt(entry, chain);
    }
}

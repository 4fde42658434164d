package io.jvdpa.device;

import static io.jvdpa.device.InflightLayout.DESC_NUM;
import static io.jvdpa.device.InflightLayout.PACKED_ADDR;
import static io.jvdpa.device.InflightLayout.PACKED_COUNTER;
import static io.jvdpa.device.InflightLayout.PACKED_FLAGS;
import static io.jvdpa.device.InflightLayout.PACKED_FREE_HEAD;
import static io.jvdpa.device.InflightLayout.PACKED_ID;
import static io.jvdpa.device.InflightLayout.PACKED_INFLIGHT;
import static io.jvdpa.device.InflightLayout.PACKED_LAST;
import static io.jvdpa.device.InflightLayout.PACKED_LEN;
import static io.jvdpa.device.InflightLayout.PACKED_NEXT;
import static io.jvdpa.device.InflightLayout.PACKED_NUM;
import static io.jvdpa.device.InflightLayout.PACKED_OLD_FREE_HEAD;
import static io.jvdpa.device.InflightLayout.PACKED_OLD_USED_IDX;
import static io.jvdpa.device.InflightLayout.PACKED_OLD_USED_WRAP;
import static io.jvdpa.device.InflightLayout.PACKED_USED_IDX;
import static io.jvdpa.device.InflightLayout.PACKED_USED_WRAP;
import static io.jvdpa.device.InflightLayout.VERSION_OFFSET;
import static io.jvdpa.device.InflightLayout.packedEntry;

import io.jvdpa.memory.Endianness;
import io.jvdpa.virtqueue.Desc;
import io.jvdpa.virtqueue.DescriptorChain;
import io.jvdpa.virtqueue.DeviceQueue;
import io.jvdpa.virtqueue.RingState;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.stream.IntStream;

/**
 * Inflight tracking for a packed ring (QueueRegionPacked). Used entries overwrite the ring slots of buffers still in
 * flight, so each popped buffer's descriptors are copied into entries taken from a free list; a completed buffer's
 * entries go back on the list. The {@code old_*} fields are the last committed state: a restarted back-end rolls
 * back to them unless the ring shows that the batch in progress was published.
 *
 * <p>Pops only happen with the area committed (completions are written to it inside {@link #publish}), so a pop
 * always takes entries from the committed free list.
 */
final class PackedInflight extends InflightTracker {
    /** Ring descriptors are little-endian: a packed ring needs VERSION_1. */
    private static final Endianness RING_ORDER = Endianness.LITTLE;
    private static final int NO_ENTRY = 0;

    private final int[] batch;
    private int batchSize;
    /** Entry + 1 of each buffer id in flight (0: none). */
    private final char[] entryOfId = new char[1 << 16];
    private final MemorySegment scratch;
    private MemorySegment descRing;
    private int freeHead;
    private int availPos;
    private int usedPos;
    private boolean usedWrap;

    PackedInflight(MemorySegment area, int size, String label, MemorySegment descRing) {
        super(area, size, label);
        this.batch = new int[size];
        this.scratch = Arena.ofAuto().allocate((long) Desc.SIZE * size, 16);
        this.descRing = descRing;
    }

    @Override
    void descriptorRing(MemorySegment ring) {
        this.descRing = ring;
    }

    @Override
    RingState recover(RingState ring) {
        if (u16(VERSION_OFFSET) == 0 || u16(DESC_NUM) != size) {
            if (u16(VERSION_OFFSET) != 0) {
                LOG.warn("{}: inflight area describes {} descriptors, the queue has {}: starting it afresh", label,
                        u16(DESC_NUM), size);
            }
            initialize(ring);
            return ring;
        }
        int used = u16(PACKED_USED_IDX);
        int oldUsed = u16(PACKED_OLD_USED_IDX);
        boolean oldWrap = u8(PACKED_OLD_USED_WRAP) != 0;
        if (oldUsed >= size || used >= size || u16(PACKED_OLD_FREE_HEAD) > size || u16(PACKED_FREE_HEAD) > size) {
            return afresh(ring, "indices outside the queue");
        }
        if (used != oldUsed || u8(PACKED_USED_WRAP) != u8(PACKED_OLD_USED_WRAP)) {
            // A batch was in progress. If the ring slot at old_used_idx no longer reads as available in that lap,
            // its used entries were published: commit the batch; otherwise roll it back below.
            int flags = RING_ORDER.u16Opaque(descRing, (long) Desc.SIZE * oldUsed + Desc.PACKED_FLAGS);
            int availFlags = oldWrap ? Desc.F_AVAIL : Desc.F_USED;
            if ((flags & (Desc.F_AVAIL | Desc.F_USED)) != availFlags) {
                putU16(PACKED_OLD_FREE_HEAD, u16(PACKED_FREE_HEAD));
                putU16(PACKED_OLD_USED_IDX, used);
                putU8(PACKED_OLD_USED_WRAP, u8(PACKED_USED_WRAP));
            }
        }
        putU16(PACKED_FREE_HEAD, u16(PACKED_OLD_FREE_HEAD));
        putU16(PACKED_USED_IDX, u16(PACKED_OLD_USED_IDX));
        putU8(PACKED_USED_WRAP, u8(PACKED_OLD_USED_WRAP));
        int x = u16(PACKED_FREE_HEAD);
        for (int ttl = size; x < size && ttl > 0; ttl--) {
            putU8(packedEntry(x) + PACKED_INFLIGHT, 0);
            x = u16(packedEntry(x) + PACKED_NEXT);
        }
        int[] inflight = IntStream.range(0, size).filter(i -> u8(packedEntry(i) + PACKED_INFLIGHT) == 1).toArray();
        int descriptors = 0;
        for (int e : inflight) {
            int num = u16(packedEntry(e) + PACKED_NUM);
            if (num < 1 || num > size || !chainIntact(e, num)) {
                return afresh(ring, "entry " + e + " of " + num + " descriptors is not a whole list");
            }
            descriptors += num;
        }
        if (descriptors > size) {
            return afresh(ring, descriptors + " descriptors in flight in a queue of " + size);
        }
        resubmitInOrder(inflight, i -> u64(packedEntry(i) + PACKED_COUNTER));
        java.util.Arrays.fill(entryOfId, (char) NO_ENTRY);
        batchSize = 0;
        freeHead = u16(PACKED_FREE_HEAD);
        usedPos = u16(PACKED_USED_IDX);
        usedWrap = u8(PACKED_USED_WRAP) != 0;
        scrubUnpublished(descriptors);
        // Every descriptor taken was either used (up to used_idx) or belongs to a buffer in flight.
        availPos = usedPos + descriptors;
        boolean availWrap = usedWrap;
        if (availPos >= size) {
            availPos -= size;
            availWrap = !availWrap;
        }
        return RingState.packed(availPos, availWrap, usedPos, usedWrap);
    }

    /**
     * The slots from used_idx on belong to the device until it returns buffers there. The previous back-end may
     * have written used entries into them whose batch it never published; the driver would take such a stale
     * entry for a completion once it reaches that slot. They read as available again (what the driver left
     * there), which the driver ignores and the device no longer needs: in-flight buffers come from the area.
     */
    private void scrubUnpublished(int descriptors) {
        int pos = usedPos;
        boolean wrap = usedWrap;
        for (int k = 0; k < descriptors; k++) {
            RING_ORDER.putU16Opaque(descRing, (long) Desc.SIZE * pos + Desc.PACKED_FLAGS, wrap ? Desc.F_AVAIL : Desc.F_USED);
            if (++pos == size) {
                pos = 0;
                wrap = !wrap;
            }
        }
    }

    private boolean chainIntact(int head, int num) {
        int x = head;
        for (int k = 1; k < num; k++) {
            x = u16(packedEntry(x) + PACKED_NEXT);
            if (x >= size) {
                return false;
            }
        }
        return x == u16(packedEntry(head) + PACKED_LAST);
    }

    private RingState afresh(RingState ring, String why) {
        LOG.warn("{}: inflight area is inconsistent ({}): starting it afresh, nothing is resubmitted", label, why);
        initialize(ring);
        return ring;
    }

    private void initialize(RingState ring) {
        area.fill((byte) 0);
        putU16(DESC_NUM, size);
        for (int i = 0; i < size; i++) {
            putU16(packedEntry(i) + PACKED_NEXT, i + 1);
        }
        putU16(PACKED_USED_IDX, ring.nextUsed());
        putU16(PACKED_OLD_USED_IDX, ring.nextUsed());
        putU8(PACKED_USED_WRAP, ring.usedWrap() ? 1 : 0);
        putU8(PACKED_OLD_USED_WRAP, ring.usedWrap() ? 1 : 0);
        VarHandle.releaseFence();
        putU16(VERSION_OFFSET, InflightLayout.VERSION);
        java.util.Arrays.fill(entryOfId, (char) NO_ENTRY);
        batchSize = 0;
        counter = 0;
        freeHead = 0;
        availPos = ring.nextAvail();
        usedPos = ring.nextUsed();
        usedWrap = ring.usedWrap();
        resubmitInOrder(new int[0], i -> 0);
    }

    @Override
    void popped(DescriptorChain chain) {
        int n = chain.descriptorCount();
        int head = freeHead;
        int x = head;
        int last = head;
        int pos = availPos;
        for (int k = 0; k < n; k++) {
            if (x >= size) {
                LOG.warn("{}: inflight area has no free entry for buffer {}; it will not be resubmitted after a crash",
                        label, chain.headId());
                advance(n);
                return;
            }
            long ringOff = (long) Desc.SIZE * pos;
            long e = packedEntry(x);
            putU64(e + PACKED_ADDR, RING_ORDER.u64(descRing, ringOff + Desc.ADDR));
            InflightLayout.ORDER.putU32(area, e + PACKED_LEN, RING_ORDER.u32(descRing, ringOff + Desc.LEN));
            putU16(e + PACKED_ID, RING_ORDER.u16(descRing, ringOff + Desc.PACKED_ID));
            putU16(e + PACKED_FLAGS, RING_ORDER.u16(descRing, ringOff + Desc.PACKED_FLAGS));
            last = x;
            x = u16(e + PACKED_NEXT);
            if (++pos == size) {
                pos = 0;
            }
        }
        long h = packedEntry(head);
        putU16(h + PACKED_NUM, n);
        putU16(h + PACKED_LAST, last);
        putU64(h + PACKED_COUNTER, counter++);
        // The copy is complete before the entry counts as in flight, and in flight before it leaves the free list.
        VarHandle.releaseFence();
        putU8(h + PACKED_INFLIGHT, 1);
        VarHandle.releaseFence();
        putU16(PACKED_FREE_HEAD, x);
        VarHandle.releaseFence();
        putU16(PACKED_OLD_FREE_HEAD, x);
        freeHead = x;
        entryOfId[chain.headId()] = (char) (head + 1);
        advance(n);
    }

    private void advance(int n) {
        availPos += n;
        if (availPos >= size) {
            availPos -= size;
        }
    }

    @Override
    void used(DescriptorChain chain) {
        int id = chain.headId();
        int entry = entryOfId[id] - 1;
        entryOfId[id] = NO_ENTRY;
        if (entry >= 0 && batchSize < batch.length) {
            batch[batchSize++] = entry;
        }
    }

    @Override
    boolean prePublish() {
        int n = batchSize;
        if (n == 0) {
            return false;
        }
        int head = freeHead;
        int pos = usedPos;
        boolean wrap = usedWrap;
        for (int i = 0; i < n; i++) {
            int e = batch[i];
            long entry = packedEntry(e);
            putU16(packedEntry(u16(entry + PACKED_LAST)) + PACKED_NEXT, head);
            head = e;
            pos += u16(entry + PACKED_NUM);
            if (pos >= size) {
                pos -= size;
                wrap = !wrap;
            }
        }
        putU16(PACKED_FREE_HEAD, head);
        putU16(PACKED_USED_IDX, pos);
        putU8(PACKED_USED_WRAP, wrap ? 1 : 0);
        freeHead = head;
        usedPos = pos;
        usedWrap = wrap;
        return true;
    }

    @Override
    void postPublish() {
        int n = batchSize;
        for (int i = 0; i < n; i++) {
            putU8(packedEntry(batch[i]) + PACKED_INFLIGHT, 0);
        }
        VarHandle.releaseFence();
        putU16(PACKED_OLD_FREE_HEAD, freeHead);
        putU16(PACKED_OLD_USED_IDX, usedPos);
        putU8(PACKED_OLD_USED_WRAP, usedWrap ? 1 : 0);
        batchSize = 0;
    }

    @Override
    boolean retake(int entry, DeviceQueue ring, DescriptorChain chain) {
        int n = u16(packedEntry(entry) + PACKED_NUM);
        int x = entry;
        for (int k = 0; k < n; k++) {
            long e = packedEntry(x);
            long off = (long) Desc.SIZE * k;
            RING_ORDER.putU64(scratch, off + Desc.ADDR, u64(e + PACKED_ADDR));
            RING_ORDER.putU32(scratch, off + Desc.LEN, InflightLayout.ORDER.u32(area, e + PACKED_LEN));
            RING_ORDER.putU16(scratch, off + Desc.PACKED_ID, u16(e + PACKED_ID));
            RING_ORDER.putU16(scratch, off + Desc.PACKED_FLAGS, u16(e + PACKED_FLAGS));
            x = u16(e + PACKED_NEXT);
        }
        if (!ring.chainFrom(scratch, n, chain)) {
            return false;
        }
        entryOfId[chain.headId()] = (char) (entry + 1);
        return true;
    }
}

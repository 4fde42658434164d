package io.jvdpa.virtqueue;

import static io.jvdpa.virtqueue.SplitRing.AVAIL_FLAGS;
import static io.jvdpa.virtqueue.SplitRing.AVAIL_IDX;
import static io.jvdpa.virtqueue.SplitRing.AVAIL_RING;
import static io.jvdpa.virtqueue.SplitRing.USED_FLAGS;
import static io.jvdpa.virtqueue.SplitRing.USED_IDX;
import static io.jvdpa.virtqueue.SplitRing.USED_RING;

import io.jvdpa.memory.Endianness;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * The driver side of a split virtqueue (VIRTIO 1.2 §2.7.13, §2.7.14): a free list of descriptors kept in
 * private arrays (the device cannot corrupt it), the available ring, reaping of the used ring.
 */
public final class SplitDriverQueue implements DriverQueue {
    private final VirtqueueFeatures features;
    private final int size;
    private final int mask;
    private final Endianness order;
    private final MemorySegment desc;
    private final MemorySegment avail;
    private final MemorySegment used;
    private final boolean eventIdx;
    private final long usedEventOffset;
    private final long availEventOffset;

    private final int[] nextFree;
    private final int[] chainDescriptors;
    private final int[] chainTail;
    private final int[] tokens;
    private int freeHead;
    private int numFree;
    private int inFlight;

    private int availIdx;
    private int unpublished;
    private int addedSinceKick;
    private int lastUsed;
    private int knownUsedIdx;

    private MemorySegment pool;
    private long poolAddr;
    private int maxPerTable;

    public SplitDriverQueue(VirtqueueFeatures features, MemorySegment descTable, MemorySegment availRing,
            MemorySegment usedRing, RingState start) {
        this.features = Objects.requireNonNull(features, "features");
        if (features.packed()) {
            throw new IllegalArgumentException("features describe a packed ring, not a split one");
        }
        this.size = features.queueSize();
        SplitRing.checkAreas(size, descTable, availRing, usedRing);
        this.mask = size - 1;
        this.order = features.order();
        this.desc = descTable;
        this.avail = availRing;
        this.used = usedRing;
        this.eventIdx = features.eventIdx();
        this.usedEventOffset = SplitRing.usedEventOffset(size);
        this.availEventOffset = SplitRing.availEventOffset(size);
        this.nextFree = new int[size];
        this.chainDescriptors = new int[size];
        this.chainTail = new int[size];
        this.tokens = new int[size];
        for (int i = 0; i < size; i++) {
            nextFree[i] = i + 1;
        }
        this.numFree = size;
        this.availIdx = start.nextAvail();
        this.lastUsed = start.nextUsed() == RingState.USED_FROM_RING ? availIdx : start.nextUsed();
        this.knownUsedIdx = lastUsed;
        // The driver owns the ring memory before the device starts: set both indices to the start state.
        order.putU16Opaque(avail, AVAIL_FLAGS, 0);
        order.putU16Opaque(used, USED_FLAGS, 0);
        order.putU16Opaque(used, USED_IDX, lastUsed);
        if (eventIdx) {
            order.putU16Opaque(avail, usedEventOffset, lastUsed);
            order.putU16Opaque(used, availEventOffset, availIdx);
        }
        order.putU16Release(avail, AVAIL_IDX, availIdx);
    }

    @Override
    public VirtqueueFeatures features() {
        return features;
    }

    @Override
    public int freeDescriptors() {
        return numFree;
    }

    @Override
    public int inFlight() {
        return inFlight;
    }

    @Override
    public void setIndirectPool(MemorySegment pool, long poolAddr, int maxPerTable) {
        if (!features.indirectDesc()) {
            throw new IllegalStateException("VIRTIO_F_INDIRECT_DESC was not negotiated");
        }
        if (maxPerTable < 1 || pool.byteSize() < (long) size * maxPerTable * Desc.SIZE) {
            throw new IllegalArgumentException("indirect pool of %d bytes cannot hold %d tables of %d descriptors"
                    .formatted(pool.byteSize(), size, maxPerTable));
        }
        this.pool = pool;
        this.poolAddr = poolAddr;
        this.maxPerTable = maxPerTable;
    }

    @Override
    public boolean post1(long addr, int len, boolean writable, int token) {
        if (numFree == 0) {
            return false;
        }
        int head = freeHead;
        writeDesc(desc, (long) Desc.SIZE * head, addr, len, writable ? Desc.F_WRITE : 0, 0);
        freeHead = nextFree[head];
        numFree--;
        track(head, 1, head, token);
        return true;
    }

    @Override
    public boolean post(long[] addrs, int[] lens, int readable, int writable, int token) {
        int n = count(readable, writable, addrs, lens);
        if (n > numFree) {
            return false;
        }
        int head = freeHead;
        int i = head;
        int last = head;
        for (int k = 0; k < n; k++) {
            int next = nextFree[i];
            int flags = (k >= readable ? Desc.F_WRITE : 0) | (k < n - 1 ? Desc.F_NEXT : 0);
            writeDesc(desc, (long) Desc.SIZE * i, addrs[k], lens[k], flags, k < n - 1 ? next : 0);
            last = i;
            i = next;
        }
        freeHead = i;
        numFree -= n;
        track(head, n, last, token);
        return true;
    }

    @Override
    public boolean postIndirect(long[] addrs, int[] lens, int readable, int writable, int token) {
        if (pool == null) {
            throw new IllegalStateException("no indirect pool: call setIndirectPool first");
        }
        int n = count(readable, writable, addrs, lens);
        if (n > maxPerTable) {
            throw new IllegalArgumentException("%d elements exceed the indirect table size %d".formatted(n, maxPerTable));
        }
        if (numFree == 0) {
            return false;
        }
        int head = freeHead;
        long tableOffset = (long) head * maxPerTable * Desc.SIZE;
        for (int k = 0; k < n; k++) {
            int flags = (k >= readable ? Desc.F_WRITE : 0) | (k < n - 1 ? Desc.F_NEXT : 0);
            writeDesc(pool, tableOffset + (long) Desc.SIZE * k, addrs[k], lens[k], flags, k < n - 1 ? k + 1 : 0);
        }
        writeDesc(desc, (long) Desc.SIZE * head, poolAddr + tableOffset, n * Desc.SIZE, Desc.F_INDIRECT, 0);
        freeHead = nextFree[head];
        numFree--;
        track(head, 1, head, token);
        return true;
    }

    private static int count(int readable, int writable, long[] addrs, int[] lens) {
        int n = readable + writable;
        if (readable < 0 || writable < 0 || n == 0 || n > addrs.length || n > lens.length) {
            throw new IllegalArgumentException("buffer of %d readable + %d writable elements (arrays of %d and %d)"
                    .formatted(readable, writable, addrs.length, lens.length));
        }
        return n;
    }

    private void writeDesc(MemorySegment table, long off, long addr, int len, int flags, int next) {
        order.putU64(table, off + Desc.ADDR, addr);
        order.putU32(table, off + Desc.LEN, Integer.toUnsignedLong(len));
        order.putU16(table, off + Desc.SPLIT_FLAGS, flags);
        order.putU16(table, off + Desc.SPLIT_NEXT, next);
    }

    private void track(int head, int descriptors, int tail, int token) {
        chainDescriptors[head] = descriptors;
        chainTail[head] = tail;
        tokens[head] = token;
        order.putU16(avail, AVAIL_RING + 2L * (availIdx & mask), head);
        availIdx = (availIdx + 1) & 0xFFFF;
        unpublished++;
        addedSinceKick++;
        inFlight++;
    }

    @Override
    public void publish() {
        if (unpublished == 0) {
            return;
        }
        // Release: descriptors and ring entries are visible before the index that exposes them (§2.7.13.3).
        order.putU16Release(avail, AVAIL_IDX, availIdx);
        unpublished = 0;
    }

    @Override
    public boolean needsKick() {
        int added = addedSinceKick;
        if (added == 0) {
            return false;
        }
        addedSinceKick = 0;
        // We stored avail idx and now read the device's suppression field; it does the opposite (§2.7.13.4).
        VarHandle.fullFence();
        if (eventIdx) {
            int availEvent = order.u16Opaque(used, availEventOffset);
            return added >= 0x10000 || BaseDeviceQueue.needEvent(availEvent, availIdx, (availIdx - added) & 0xFFFF);
        }
        return (order.u16Opaque(used, USED_FLAGS) & SplitRing.VIRTQ_USED_F_NO_NOTIFY) == 0;
    }

    @Override
    public boolean reap(UsedBuffer out) {
        if (lastUsed == knownUsedIdx) {
            int idx = order.u16Acquire(used, USED_IDX);
            if (idx == lastUsed) {
                return false;
            }
            if (((idx - lastUsed) & 0xFFFF) > inFlight) {
                throw new IllegalStateException("device moved used idx from %d to %d with %d buffers in flight"
                        .formatted(lastUsed, idx, inFlight));
            }
            knownUsedIdx = idx;
        }
        long off = USED_RING + (long) SplitRing.USED_ELEM_SIZE * (lastUsed & mask);
        long id = order.u32(used, off + SplitRing.USED_ELEM_ID);
        long len = order.u32(used, off + SplitRing.USED_ELEM_LEN);
        if (id >= size || chainDescriptors[(int) id] == 0) {
            throw new IllegalStateException("device returned buffer id %d, which is not in flight".formatted(id));
        }
        int head = (int) id;
        nextFree[chainTail[head]] = freeHead;
        freeHead = head;
        numFree += chainDescriptors[head];
        chainDescriptors[head] = 0;
        inFlight--;
        lastUsed = (lastUsed + 1) & 0xFFFF;
        out.id = head;
        out.token = tokens[head];
        out.length = len;
        return true;
    }

    @Override
    public void disableInterrupts() {
        if (eventIdx) {
            // With EVENT_IDX the flags must stay 0 (§2.7.7.1): put used_event half the index space away.
            order.putU16Opaque(avail, usedEventOffset, (lastUsed + 0x8000) & 0xFFFF);
        } else {
            order.putU16Opaque(avail, AVAIL_FLAGS, SplitRing.VIRTQ_AVAIL_F_NO_INTERRUPT);
        }
    }

    @Override
    public boolean enableInterrupts() {
        if (eventIdx) {
            order.putU16Opaque(avail, usedEventOffset, lastUsed);
        } else {
            order.putU16Opaque(avail, AVAIL_FLAGS, 0);
        }
        VarHandle.fullFence();
        return order.u16Acquire(used, USED_IDX) != lastUsed;
    }

    @Override
    public RingState state() {
        return RingState.split(availIdx, lastUsed);
    }
}

package io.jvdpa.virtqueue;

import static io.jvdpa.virtqueue.PackedRing.EVENT_FLAGS;
import static io.jvdpa.virtqueue.PackedRing.EVENT_OFF_WRAP;

import io.jvdpa.memory.Endianness;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/**
 * The driver side of a packed virtqueue (VIRTIO 1.2 §2.8.21, §2.8.22): descriptors written in ring order with
 * the Driver Ring Wrap Counter, buffer ids from a private free stack, the first head of each burst exposed last.
 */
public final class PackedDriverQueue implements DriverQueue {
    private final VirtqueueFeatures features;
    private final int size;
    private final Endianness order;
    private final MemorySegment ring;
    private final MemorySegment driverEvent;
    private final MemorySegment deviceEvent;
    private final boolean eventIdx;

    private final int[] freeIds;
    private final int[] idDescriptors;
    private final int[] tokens;
    private int freeIdCount;
    private int numFree;
    private int inFlight;

    private int nextAvail;
    private boolean availWrap;
    private int nextUsed;
    private boolean usedWrap;
    private long pendingFlagsOffset = -1;
    private int pendingFlags;
    private int addedSinceKick;

    private MemorySegment pool;
    private long poolAddr;
    private int maxPerTable;

    public PackedDriverQueue(VirtqueueFeatures features, MemorySegment descRing, MemorySegment driverEventArea,
            MemorySegment deviceEventArea, RingState start) {
        this.features = Objects.requireNonNull(features, "features");
        if (!features.packed()) {
            throw new IllegalArgumentException("features describe a split ring, not a packed one");
        }
        this.size = features.queueSize();
        PackedRing.checkAreas(size, descRing, driverEventArea, deviceEventArea);
        if (start.nextAvail() >= size || start.nextUsed() != start.nextAvail() || start.availWrap() != start.usedWrap()) {
            throw new IllegalArgumentException("a driver starts with nothing in flight inside the ring, not at " + start);
        }
        this.order = features.order();
        this.ring = descRing;
        this.driverEvent = driverEventArea;
        this.deviceEvent = deviceEventArea;
        this.eventIdx = features.eventIdx();
        this.freeIds = new int[size];
        this.idDescriptors = new int[size];
        this.tokens = new int[size];
        for (int i = 0; i < size; i++) {
            freeIds[i] = size - 1 - i;
        }
        this.freeIdCount = size;
        this.numFree = size;
        this.nextAvail = start.nextAvail();
        this.availWrap = start.availWrap();
        this.nextUsed = start.nextUsed();
        this.usedWrap = start.usedWrap();
        // Positions from the start on were last used in the previous lap, those before it in this lap: then no
        // position looks available or used until this side or the device writes it in the lap it is in.
        for (int i = 0; i < size; i++) {
            int stale = PackedRing.usedFlags(i < nextAvail ? availWrap : !availWrap);
            order.putU16Opaque(ring, (long) Desc.SIZE * i + Desc.PACKED_FLAGS, stale);
        }
        order.putU16Opaque(driverEvent, EVENT_OFF_WRAP, 0);
        order.putU16Release(driverEvent, EVENT_FLAGS, PackedRing.RING_EVENT_FLAGS_ENABLE);
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
        if (numFree == 0 || freeIdCount == 0) {
            return false;
        }
        int id = freeIds[--freeIdCount];
        put(addr, len, id, writable ? Desc.F_WRITE : 0, true);
        track(id, 1, token);
        return true;
    }

    @Override
    public boolean post(long[] addrs, int[] lens, int readable, int writable, int token) {
        int n = readable + writable;
        if (readable < 0 || writable < 0 || n == 0 || n > addrs.length || n > lens.length) {
            throw new IllegalArgumentException("buffer of %d readable + %d writable elements".formatted(readable, writable));
        }
        if (n > numFree || freeIdCount == 0) {
            return false;
        }
        int id = freeIds[--freeIdCount];
        for (int k = 0; k < n; k++) {
            int flags = (k >= readable ? Desc.F_WRITE : 0) | (k < n - 1 ? Desc.F_NEXT : 0);
            put(addrs[k], lens[k], id, flags, k == 0);
        }
        track(id, n, token);
        return true;
    }

    @Override
    public boolean postIndirect(long[] addrs, int[] lens, int readable, int writable, int token) {
        if (pool == null) {
            throw new IllegalStateException("no indirect pool: call setIndirectPool first");
        }
        int n = readable + writable;
        if (readable < 0 || writable < 0 || n == 0 || n > maxPerTable || n > addrs.length || n > lens.length) {
            throw new IllegalArgumentException("buffer of %d readable + %d writable elements, tables hold %d"
                    .formatted(readable, writable, maxPerTable));
        }
        if (numFree == 0 || freeIdCount == 0) {
            return false;
        }
        int id = freeIds[--freeIdCount];
        long table = (long) id * maxPerTable * Desc.SIZE;
        for (int k = 0; k < n; k++) {
            long off = table + (long) Desc.SIZE * k;
            order.putU64(pool, off + Desc.ADDR, addrs[k]);
            order.putU32(pool, off + Desc.LEN, Integer.toUnsignedLong(lens[k]));
            order.putU16(pool, off + Desc.PACKED_ID, 0);
            order.putU16(pool, off + Desc.PACKED_FLAGS, k >= readable ? Desc.F_WRITE : 0);
        }
        put(poolAddr + table, n * Desc.SIZE, id, Desc.F_INDIRECT, true);
        track(id, 1, token);
        return true;
    }

    /** Writes one descriptor at the next position; a burst's first head gets its flags at publish. */
    private void put(long addr, int len, int id, int flags, boolean head) {
        long off = (long) Desc.SIZE * nextAvail;
        order.putU64(ring, off + Desc.ADDR, addr);
        order.putU32(ring, off + Desc.LEN, Integer.toUnsignedLong(len));
        order.putU16(ring, off + Desc.PACKED_ID, id);
        int f = flags | PackedRing.availFlags(availWrap);
        if (head && pendingFlagsOffset < 0) {
            pendingFlagsOffset = off + Desc.PACKED_FLAGS;
            pendingFlags = f;
        } else {
            order.putU16Opaque(ring, off + Desc.PACKED_FLAGS, f);
        }
        if (++nextAvail == size) {
            nextAvail = 0;
            availWrap = !availWrap;
        }
    }

    private void track(int id, int descriptors, int token) {
        idDescriptors[id] = descriptors;
        tokens[id] = token;
        numFree -= descriptors;
        addedSinceKick += descriptors;
        inFlight++;
    }

    @Override
    public void publish() {
        if (pendingFlagsOffset < 0) {
            return;
        }
        // Release: the rest of the burst is written before the first head's flags expose it (§2.8.21.1).
        order.putU16Release(ring, pendingFlagsOffset, pendingFlags);
        pendingFlagsOffset = -1;
    }

    @Override
    public boolean needsKick() {
        int added = addedSinceKick;
        if (added == 0 || pendingFlagsOffset >= 0) {
            return false;
        }
        addedSinceKick = 0;
        VarHandle.fullFence();
        int flags = order.u16Opaque(deviceEvent, EVENT_FLAGS) & 0x3;
        if (flags == PackedRing.RING_EVENT_FLAGS_DISABLE) {
            return false;
        }
        if (flags != PackedRing.RING_EVENT_FLAGS_DESC || !eventIdx || added >= size) {
            return true;
        }
        int offWrap = order.u16Opaque(deviceEvent, EVENT_OFF_WRAP);
        int off = offWrap & 0x7FFF;
        if (((offWrap >>> PackedRing.EVENT_WRAP_BIT) != 0) != availWrap) {
            off -= size;
        }
        return BaseDeviceQueue.needEvent(off & 0xFFFF, nextAvail, (nextAvail - added) & 0xFFFF);
    }

    @Override
    public boolean reap(UsedBuffer out) {
        long off = (long) Desc.SIZE * nextUsed;
        int flags = order.u16Acquire(ring, off + Desc.PACKED_FLAGS);
        if (!PackedRing.isUsed(flags, usedWrap)) {
            return false;
        }
        int id = order.u16(ring, off + Desc.PACKED_ID);
        long len = order.u32(ring, off + Desc.LEN);
        if (id >= size || idDescriptors[id] == 0) {
            throw new IllegalStateException("device returned buffer id %d, which is not in flight".formatted(id));
        }
        int n = idDescriptors[id];
        idDescriptors[id] = 0;
        nextUsed += n;
        if (nextUsed >= size) {
            nextUsed -= size;
            usedWrap = !usedWrap;
        }
        numFree += n;
        freeIds[freeIdCount++] = id;
        inFlight--;
        out.id = id;
        out.token = tokens[id];
        out.length = (flags & Desc.F_WRITE) != 0 ? len : 0;
        return true;
    }

    @Override
    public void disableInterrupts() {
        order.putU16Opaque(driverEvent, EVENT_FLAGS, PackedRing.RING_EVENT_FLAGS_DISABLE);
    }

    @Override
    public boolean enableInterrupts() {
        if (eventIdx) {
            order.putU16Opaque(driverEvent, EVENT_OFF_WRAP, nextUsed | (usedWrap ? 1 << PackedRing.EVENT_WRAP_BIT : 0));
            order.putU16Opaque(driverEvent, EVENT_FLAGS, PackedRing.RING_EVENT_FLAGS_DESC);
        } else {
            order.putU16Opaque(driverEvent, EVENT_FLAGS, PackedRing.RING_EVENT_FLAGS_ENABLE);
        }
        VarHandle.fullFence();
        return PackedRing.isUsed(order.u16Acquire(ring, (long) Desc.SIZE * nextUsed + Desc.PACKED_FLAGS), usedWrap);
    }

    @Override
    public RingState state() {
        return RingState.packed(nextAvail, availWrap, nextUsed, usedWrap);
    }
}

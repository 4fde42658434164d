package io.jvdpa.virtqueue;

import static io.jvdpa.virtqueue.SplitRing.AVAIL_FLAGS;
import static io.jvdpa.virtqueue.SplitRing.AVAIL_IDX;
import static io.jvdpa.virtqueue.SplitRing.AVAIL_RING;
import static io.jvdpa.virtqueue.SplitRing.USED_FLAGS;
import static io.jvdpa.virtqueue.SplitRing.USED_IDX;
import static io.jvdpa.virtqueue.SplitRing.USED_RING;

import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import io.jvdpa.memory.GuestMemory;
import io.jvdpa.memory.GuestRegion;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The device side of a split virtqueue (VIRTIO 1.2 §2.7): descriptor table, available ring, used ring, at
 * whatever addresses the front-end gave (a legacy driver's contiguous 4096-aligned layout is one such case).
 *
 * <p>Ordering: avail idx is read with acquire, so the ring entries and descriptors it covers are read after it;
 * used idx is written with release, so the used entries are visible before it. A full fence separates publishing
 * from reading the driver's notification fields, and re-enabling notifications from re-checking avail idx.
 *
 * <p>The avail entries and descriptors a driver just wrote sit in its CPU's cache, and reading each one when its
 * buffer is popped waits for one cache-line transfer after another. So whenever pop reaches buffers it has not
 * looked at yet, it first reads the next {@link #READ_AHEAD} avail entries and their head descriptors in one
 * tight loop: the loads do not depend on each other, the CPU overlaps them, and the pops that follow find the
 * lines at hand. The values are only touched, never used; pop reads everything again as before.
 */
public final class SplitDeviceQueue extends BaseDeviceQueue {
    // Not final: a new memory table maps the same ring anew (moveTo).
    private MemorySegment desc;
    private MemorySegment avail;
    private MemorySegment used;
    private final int mask;
    private final boolean eventIdx;
    private final boolean indirectDesc;
    private final long usedEventOffset;
    private final long availEventOffset;

    /** Next avail ring index to read (free-running 16 bits). */
    private int nextAvail;
    /** The driver's avail idx as last read: entries up to it are known available without another acquire. */
    private int knownAvailIdx;
    /** Avail entries from nextAvail up to here (free-running 16 bits) were read ahead. */
    private int readAheadIdx;
    /** Where the values read ahead go, so that the loads are made. */
    private int readAheadSink;
    /** Next used ring index to write (free-running 16 bits); published at publishUsed. */
    private int nextUsed;
    private int unpublished;
    private int publishedSinceSignal;
    private int signalledUsed;
    private boolean signalledValid;
    private boolean notifyEnabled = true;
    private int inFlight;

    /** Avail entries read ahead at a time: about as many loads as a core keeps in flight. */
    static final int READ_AHEAD = 32;

    public SplitDeviceQueue(VirtqueueFeatures features, MemorySegment descTable, MemorySegment availRing,
            MemorySegment usedRing, GuestMemory memory, DirtyLog log, long usedRingAddr, RingState start) {
        super(features, memory, log, usedRingAddr);
        if (features.packed()) {
            throw new IllegalArgumentException("features describe a packed ring, not a split one");
        }
        SplitRing.checkAreas(size, descTable, availRing, usedRing);
        this.desc = descTable;
        this.avail = availRing;
        this.used = usedRing;
        this.mask = size - 1;
        this.eventIdx = features.eventIdx();
        this.indirectDesc = features.indirectDesc();
        this.usedEventOffset = SplitRing.usedEventOffset(size);
        this.availEventOffset = SplitRing.availEventOffset(size);
        this.nextAvail = start.nextAvail();
        this.knownAvailIdx = nextAvail;
        this.readAheadIdx = nextAvail;
        this.nextUsed = start.nextUsed() == RingState.USED_FROM_RING
                ? order.u16Acquire(used, USED_IDX)
                : start.nextUsed();
        this.signalledUsed = nextUsed;
    }

    @Override
    void moveAreas(RingAreas areas, long deviceAreaAddr) {
        // The used ring is the device area, logged at logAddr.
        desc = areas.descriptors();
        avail = areas.driverArea();
        used = areas.deviceArea();
    }

    @Override
    public boolean pop(DescriptorChain chain) {
        if (isBroken()) {
            return false;
        }
        try {
            int next = nextAvail;
            if (next == knownAvailIdx && !refreshAvailIdx()) {
                counters.emptyPolls++;
                return false;
            }
            if (next == readAheadIdx) {
                readAhead(next);
            }
            Endianness o = order;
            int head = o.u16(avail, AVAIL_RING + 2L * (next & mask));
            if (head >= size) {
                throw new RingViolation("avail ring entry %d names descriptor %d, queue size is %d (VIRTIO 1.2 §2.7.6, §2.7.13.2)"
                        .formatted(next, head, size));
            }
            chain.begin(chainLog);
            walk(chain, head, memory);
            chain.finish(head, 1);
            nextAvail = (next + 1) & 0xFFFF;
            inFlight++;
            counters.chains++;
            counters.readableBytes += chain.readableBytes();
            if (eventIdx && notifyEnabled) {
                // Keep avail_event at our position so the driver kicks for the next buffer (§2.7.10).
                o.putU16Opaque(used, availEventOffset, nextAvail);
                logWrite(availEventOffset, 2);
            }
            return true;
        } catch (RingViolation v) {
            markBroken(v.getMessage());
            return false;
        } catch (RuntimeException e) {
            internalError("pop", e);
            return false;
        }
    }

    @Override
    public boolean chainAt(int headId, DescriptorChain chain) {
        if (isBroken()) {
            return false;
        }
        try {
            if (headId < 0 || headId >= size) {
                throw new RingViolation("in-flight buffer %d to take again is outside the queue of %d descriptors (VIRTIO 1.2 §2.7.6)"
                        .formatted(headId, size));
            }
            chain.begin(chainLog);
            walk(chain, headId, memory);
            chain.finish(headId, 1);
            inFlight++;
            counters.chains++;
            counters.readableBytes += chain.readableBytes();
            return true;
        } catch (RingViolation v) {
            markBroken(v.getMessage());
            return false;
        } catch (RuntimeException e) {
            internalError("chainAt", e);
            return false;
        }
    }

    @Override
    public boolean chainFrom(MemorySegment descriptors, int count, DescriptorChain chain) {
        throw new IllegalStateException("a split ring takes in-flight buffers again by head index (chainAt)");
    }

    /** Touches the avail entries from {@code next} that are known available, at most READ_AHEAD, and their heads. */
    private void readAhead(int next) {
        int n = Math.min((knownAvailIdx - next) & 0xFFFF, READ_AHEAD);
        MemorySegment a = avail;
        MemorySegment d = desc;
        int sink = 0;
        for (int k = 0; k < n; k++) {
            int head = order.u16(a, AVAIL_RING + 2L * ((next + k) & mask));
            if (head < size) { // a bad head is pop's to report
                sink += Endianness.u8(d, (long) Desc.SIZE * head + Desc.SPLIT_FLAGS);
            }
        }
        readAheadSink += sink;
        readAheadIdx = (next + n) & 0xFFFF;
    }

    /** Reads avail idx (acquire). False if nothing new; breaks the queue if it ran too far ahead. */
    private boolean refreshAvailIdx() {
        int idx = order.u16Acquire(avail, AVAIL_IDX);
        if (idx == nextAvail) {
            return false;
        }
        int ahead = (idx - nextAvail) & 0xFFFF;
        if (ahead > size) {
            throw new RingViolation("avail idx moved from %d to %d: %d buffers, more than the queue size %d (VIRTIO 1.2 §2.7, §2.7.13.3)"
                    .formatted(nextAvail, idx, ahead, size));
        }
        knownAvailIdx = idx;
        return true;
    }

    /**
     * Walks a chain from {@code head}. The ttl is the queue size, for the direct part and again for an indirect
     * table: a chain that loops, or is longer than the queue, ends by running out of it (VIRTIO 1.2 §2.7.5.2,
     * §2.7.5.3.1). Every index is checked against its
     * table before the descriptor is read.
     */
    private void walk(DescriptorChain chain, int head, GuestMemory mem) {
        final Endianness o = order;
        MemorySegment table = desc;
        long tableBase = 0;
        long tableSize = size;
        boolean inIndirect = false;
        int ttl = size;
        int i = head;
        while (true) {
            if (ttl-- == 0) {
                throw new RingViolation("descriptor chain from head %d has more than %d descriptors: it loops or is longer than the queue (VIRTIO 1.2 §2.7.5.2, §2.7.5.3.1)"
                        .formatted(head, size));
            }
            long off = tableBase + (long) Desc.SIZE * i;
            long addr = o.u64(table, off + Desc.ADDR);
            long len = o.u32(table, off + Desc.LEN);
            int flags = o.u16(table, off + Desc.SPLIT_FLAGS);
            if ((flags & Desc.F_INDIRECT) != 0) {
                if (inIndirect) {
                    throw new RingViolation("descriptor %d of an indirect table is itself indirect (VIRTIO 1.2 §2.7.5.3.1)"
                            .formatted(i));
                }
                if (!indirectDesc) {
                    throw new RingViolation("descriptor %d is indirect but VIRTIO_F_INDIRECT_DESC was not negotiated (VIRTIO 1.2 §2.7.5.3.1)"
                            .formatted(i));
                }
                if ((flags & Desc.F_NEXT) != 0) {
                    throw new RingViolation("descriptor %d sets both INDIRECT and NEXT (VIRTIO 1.2 §2.7.5.3.1)".formatted(i));
                }
                checkIndirectLength(len);
                GuestRegion region = indirectRegion(mem, addr, len);
                table = region.segment();
                tableBase = addr - region.guestPhysAddr();
                tableSize = len / Desc.SIZE;
                inIndirect = true;
                // The chain inside the table may again be as long as the queue (§2.7.5.3.1); its indices are
                // bounded by the table, its length by this ttl.
                ttl = size;
                i = 0;
                continue;
            }
            chain.addBuffer(addr, len, (flags & Desc.F_WRITE) != 0, mem);
            if ((flags & Desc.F_NEXT) == 0) {
                return;
            }
            i = o.u16(table, off + Desc.SPLIT_NEXT);
            if (i >= tableSize) {
                throw new RingViolation("descriptor chain from head %d names next descriptor %d, %s has %d (VIRTIO 1.2 §2.7.5, §2.7.5.3)"
                        .formatted(head, i, inIndirect ? "the indirect table" : "the queue", tableSize));
            }
        }
    }

    @Override
    public void addUsed(int headId, int descriptorCount, int bytesWritten) {
        if (isBroken()) {
            return;
        }
        try {
            if (!usedIdInRange(headId, "§2.7.8.2")) {
                return;
            }
            if (inFlight == 0) {
                markBroken("device returned buffer %d with no buffer in flight (VIRTIO 1.2 §2.7.8.2)".formatted(headId));
                return;
            }
            long off = USED_RING + (long) SplitRing.USED_ELEM_SIZE * (nextUsed & mask);
            order.putU32(used, off + SplitRing.USED_ELEM_ID, headId);
            order.putU32(used, off + SplitRing.USED_ELEM_LEN, Integer.toUnsignedLong(bytesWritten));
            logWrite(off, SplitRing.USED_ELEM_SIZE);
            nextUsed = (nextUsed + 1) & 0xFFFF;
            unpublished++;
            inFlight--;
            counters.usedChains++;
            counters.usedBytes += Integer.toUnsignedLong(bytesWritten);
        } catch (RuntimeException e) {
            internalError("addUsed", e);
        }
    }

    @Override
    void publishUsedUnguarded() {
        if (unpublished == 0) {
            return;
        }
        // Release: the used elements above are visible before the index that exposes them (§2.7.8.2).
        order.putU16Release(used, USED_IDX, nextUsed);
        logWrite(USED_IDX, 2);
        publishedSinceSignal += unpublished;
        unpublished = 0;
    }

    @Override
    boolean needsNotificationUnguarded() {
        if (publishedSinceSignal == 0) {
            return false;
        }
        publishedSinceSignal = 0;
        // The driver writes used_event / flags and then reads used idx; we wrote used idx and now read those
        // fields: without a full fence both sides could miss each other's store and the driver would sleep.
        VarHandle.fullFence();
        boolean notify;
        if (eventIdx) {
            int usedEvent = order.u16Opaque(avail, usedEventOffset);
            int old = signalledUsed;
            boolean valid = signalledValid;
            notify = !valid || needEvent(usedEvent, nextUsed, old);
        } else {
            notify = (order.u16Opaque(avail, AVAIL_FLAGS) & SplitRing.VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
        }
        signalledUsed = nextUsed;
        signalledValid = true;
        if (notify) {
            counters.notifications++;
        } else {
            counters.notificationsSuppressed++;
        }
        return notify;
    }

    @Override
    void disableNotificationsUnguarded() {
        notifyEnabled = false;
        if (!eventIdx) {
            // With EVENT_IDX the stale avail_event already stops kicks after at most one (§2.7.10).
            order.putU16Opaque(used, USED_FLAGS, SplitRing.VIRTQ_USED_F_NO_NOTIFY);
            logWrite(USED_FLAGS, 2);
        }
    }

    @Override
    boolean enableNotificationsUnguarded() {
        notifyEnabled = true;
        if (eventIdx) {
            order.putU16Opaque(used, availEventOffset, nextAvail);
            logWrite(availEventOffset, 2);
        } else {
            order.putU16Opaque(used, USED_FLAGS, 0);
            logWrite(USED_FLAGS, 2);
        }
        // The driver publishes avail idx and then reads our flag / avail_event; we wrote those and now read avail
        // idx: the full fence makes sure one of us sees the other's store.
        VarHandle.fullFence();
        if (isBroken()) {
            return false;
        }
        return order.u16Acquire(avail, AVAIL_IDX) != nextAvail;
    }

    @Override
    public RingState state() {
        return RingState.split(nextAvail, nextUsed);
    }

    @Override
    public int inFlight() {
        return inFlight;
    }
}

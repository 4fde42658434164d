package io.jvdpa.virtqueue;

import static io.jvdpa.virtqueue.PackedRing.EVENT_FLAGS;
import static io.jvdpa.virtqueue.PackedRing.EVENT_OFF_WRAP;

import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import io.jvdpa.memory.GuestMemory;
import io.jvdpa.memory.GuestRegion;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * The device side of a packed virtqueue (VIRTIO 1.2 §2.8): one descriptor ring that both sides write, with wrap
 * counters, and the driver and device event suppression structures.
 *
 * <p>Ordering: a descriptor's flags are read with acquire, so the rest of the list is read after them. Used
 * entries of a burst are written in full except the flags of the first one, which publishUsed stores last with
 * release: the driver polls only that position, so the whole burst appears at once (§2.8.9).
 *
 * <p>Descriptors a driver just wrote sit in its CPU's cache, and reading each one as its buffer is popped waits for
 * one cache-line transfer after another. So pop looks ahead now and then: it reads the flags of one descriptor in
 * each of the next ring lines, {@link #READ_AHEAD} descriptors at most, for as long as they are available, in a
 * loop whose loads the CPU overlaps; the pops that follow find the lines at hand. The values read ahead are not
 * used: pop reads every descriptor again, with acquire on its flags, as before.
 *
 * <p>addUsed only notes an entry; publishUsed writes the burst's entries into the ring one after the other. The
 * ring line that takes the next used entries is the one a polling driver keeps reading, so every store into it
 * while the device is still busy with the next buffer could cost a cache-line transfer; written together, the
 * line moves over once per burst.
 */
public final class PackedDeviceQueue extends BaseDeviceQueue {
    // Not final: a new memory table maps the same ring anew (moveTo).
    private MemorySegment ring;
    private MemorySegment driverEvent;
    private MemorySegment deviceEvent;
    private long deviceEventAddr;
    private final boolean eventIdx;
    private final boolean indirectDesc;

    private int nextAvail;
    private boolean availWrap;
    private int nextUsed;
    private boolean usedWrap;
    /**
     * Used entries added since the last publish, oldest first: buffer id (bits 0-15), ring descriptors (16-31)
     * and bytes written (32-63). In flight never exceeds the ring, so neither does this, short of a driver that
     * makes descriptors the device holds available again; addUsed then writes out what it has first.
     */
    private final long[] pending;
    private int pendingCount;
    /** Ring position and wrap counter of the first pending entry. */
    private int pendingPos;
    private boolean pendingWrap;
    private int publishedSinceSignal;
    private int signalledUsed;
    private boolean signalledValid;
    private boolean notifyEnabled = true;
    /** Ring positions from nextAvail that were read ahead and are not popped yet. */
    private int readAheadLeft;
    /** Where the values read ahead go, so that the loads are made. */
    private int readAheadSink;
    /** Ring descriptors popped and not yet used: a used entry may never cover more. */
    private int inFlightDescriptors;
    private int inFlight;

    /** Descriptors read ahead at most: about as many loads as a core keeps in flight, four to a line. */
    static final int READ_AHEAD = 64;
    /** Descriptors of a 64-byte line. */
    private static final int PER_LINE = 4;

    public PackedDeviceQueue(VirtqueueFeatures features, MemorySegment descRing, MemorySegment driverEventArea,
            MemorySegment deviceEventArea, GuestMemory memory, DirtyLog log, long descRingAddr, long deviceEventAddr,
            RingState start) {
        super(features, memory, log, descRingAddr);
        if (!features.packed()) {
            throw new IllegalArgumentException("features describe a split ring, not a packed one");
        }
        PackedRing.checkAreas(size, descRing, driverEventArea, deviceEventArea);
        if (start.nextAvail() >= size || start.nextUsed() >= size || start.nextUsed() < 0) {
            throw new IllegalArgumentException("packed ring state %s is outside the ring of %d descriptors"
                    .formatted(start, size));
        }
        this.ring = descRing;
        this.driverEvent = driverEventArea;
        this.deviceEvent = deviceEventArea;
        this.deviceEventAddr = deviceEventAddr;
        this.eventIdx = features.eventIdx();
        this.indirectDesc = features.indirectDesc();
        this.nextAvail = start.nextAvail();
        this.availWrap = start.availWrap();
        this.nextUsed = start.nextUsed();
        this.usedWrap = start.usedWrap();
        this.signalledUsed = nextUsed;
        this.pending = new long[size];
    }

    @Override
    void moveAreas(RingAreas areas, long deviceAreaAddr) {
        ring = areas.descriptors();
        driverEvent = areas.driverArea();
        deviceEvent = areas.deviceArea();
        deviceEventAddr = deviceAreaAddr;
    }

    @Override
    public boolean pop(DescriptorChain chain) {
        if (isBroken()) {
            return false;
        }
        try {
            final Endianness o = order;
            int pos = nextAvail;
            int headFlags = o.u16Acquire(ring, (long) Desc.SIZE * pos + Desc.PACKED_FLAGS);
            if (!PackedRing.isAvail(headFlags, availWrap)) {
                counters.emptyPolls++;
                return false;
            }
            if (readAheadLeft <= 0) {
                readAhead();
            }
            chain.begin(chainLog);
            GuestMemory mem = memory;
            boolean wrap = availWrap;
            int count = 0;
            int id;
            int ttl = size;
            int flags = headFlags;
            while (true) {
                if (ttl-- == 0) {
                    throw new RingViolation("descriptor list at position %d is longer than the queue size %d: it wraps onto itself (VIRTIO 1.2 §2.8.17)"
                            .formatted(nextAvail, size));
                }
                long off = (long) Desc.SIZE * pos;
                long addr = o.u64(ring, off + Desc.ADDR);
                long len = o.u32(ring, off + Desc.LEN);
                id = o.u16(ring, off + Desc.PACKED_ID);
                if (count > 0) {
                    flags = o.u16(ring, off + Desc.PACKED_FLAGS);
                }
                count++;
                if (++pos == size) {
                    pos = 0;
                    wrap = !wrap;
                }
                if ((flags & Desc.F_INDIRECT) != 0) {
                    if (count > 1 || (flags & Desc.F_NEXT) != 0) {
                        throw new RingViolation("indirect descriptor at position %d is part of a list linked by NEXT (VIRTIO 1.2 §2.8.19)"
                                .formatted(off / Desc.SIZE));
                    }
                    indirect(chain, addr, len, mem);
                    break;
                }
                chain.addBuffer(addr, len, (flags & Desc.F_WRITE) != 0, mem);
                if ((flags & Desc.F_NEXT) == 0) {
                    break;
                }
            }
            // The Buffer ID is in the last descriptor of the list (§2.8.6).
            if (id >= size) {
                throw bufferIdOutOfRange("descriptor list at position " + nextAvail, id);
            }
            chain.finish(id, count);
            nextAvail = pos;
            availWrap = wrap;
            readAheadLeft -= count;
            inFlight++;
            inFlightDescriptors += count;
            counters.chains++;
            counters.readableBytes += chain.readableBytes();
            if (eventIdx && notifyEnabled) {
                writeEventDesc();
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

    /**
     * Touches the ring lines after nextAvail's while they hold available descriptors. A line the driver has not
     * filled yet is left alone for a while: reading it early would only pull it away from the driver.
     */
    private void readAhead() {
        int pos = nextAvail;
        boolean wrap = availWrap;
        int covered = 0;
        int sink = 0;
        // Not a lap or more ahead: a ring may be as small as one line, and any size at all (§2.8.10.1).
        int limit = Math.min(READ_AHEAD, size - PER_LINE);
        for (int j = PER_LINE; j <= limit; j += PER_LINE) {
            pos += PER_LINE;
            if (pos >= size) {
                pos -= size;
                wrap = !wrap;
            }
            int flags = order.u16(ring, (long) Desc.SIZE * pos + Desc.PACKED_FLAGS);
            sink += flags;
            if (!PackedRing.isAvail(flags, wrap)) {
                break;
            }
            covered = j;
        }
        readAheadSink += sink;
        readAheadLeft = covered > 0 ? covered : 2 * PER_LINE;
    }

    @Override
    public boolean chainAt(int headId, DescriptorChain chain) {
        throw new IllegalStateException("a packed ring takes in-flight buffers again from saved descriptors (chainFrom)");
    }

    @Override
    public boolean chainFrom(MemorySegment descriptors, int count, DescriptorChain chain) {
        if (isBroken()) {
            return false;
        }
        try {
            if (count < 1 || count > size || descriptors.byteSize() < (long) Desc.SIZE * count) {
                throw new RingViolation("saved descriptor list of %d descriptors for a queue of %d (VIRTIO 1.2 §2.8.17)"
                        .formatted(count, size));
            }
            final Endianness o = order;
            GuestMemory mem = memory;
            chain.begin(chainLog);
            int id = 0;
            for (int k = 0; k < count; k++) {
                long off = (long) Desc.SIZE * k;
                long addr = o.u64(descriptors, off + Desc.ADDR);
                long len = o.u32(descriptors, off + Desc.LEN);
                id = o.u16(descriptors, off + Desc.PACKED_ID);
                int flags = o.u16(descriptors, off + Desc.PACKED_FLAGS);
                if ((flags & Desc.F_INDIRECT) != 0) {
                    if (count > 1 || (flags & Desc.F_NEXT) != 0) {
                        throw new RingViolation("saved indirect descriptor is part of a list linked by NEXT (VIRTIO 1.2 §2.8.19)");
                    }
                    indirect(chain, addr, len, mem);
                    break;
                }
                if (((flags & Desc.F_NEXT) != 0) != (k < count - 1)) {
                    throw new RingViolation("saved descriptor %d of %d: its NEXT flag does not match the list length (VIRTIO 1.2 §2.8.6)"
                            .formatted(k, count));
                }
                chain.addBuffer(addr, len, (flags & Desc.F_WRITE) != 0, mem);
            }
            if (id >= size) {
                throw bufferIdOutOfRange("saved descriptor list", id);
            }
            chain.finish(id, count);
            inFlight++;
            inFlightDescriptors += count;
            counters.chains++;
            counters.readableBytes += chain.readableBytes();
            return true;
        } catch (RingViolation v) {
            markBroken(v.getMessage());
            return false;
        } catch (RuntimeException e) {
            internalError("chainFrom", e);
            return false;
        }
    }

    /**
     * A Buffer ID names one of the at most queue-size buffers in flight. The spec states no bound, but its drivers
     * take ids from a table of queue-size entries and index it with the id that comes back used (the examples of
     * VIRTIO 1.2 §2.8.21.1 and §2.8.22, which assert id &lt; size), as Linux, DPDK and Windows drivers do; and the
     * device's in-flight tracking keeps one entry per id. An id outside the queue is taken for a broken ring.
     */
    private RingViolation bufferIdOutOfRange(String list, int id) {
        return new RingViolation("%s has Buffer ID %d, queue size is %d (VIRTIO 1.2 §2.8.21.1, §2.8.22)"
                .formatted(list, id, size));
    }

    /** An indirect table: its entries in order, only WRITE meaningful (VIRTIO 1.2 §2.8.7, §2.8.19). */
    private void indirect(DescriptorChain chain, long addr, long len, GuestMemory mem) {
        if (!indirectDesc) {
            throw new RingViolation("indirect descriptor but VIRTIO_F_INDIRECT_DESC was not negotiated (VIRTIO 1.2 §2.8.19)");
        }
        checkIndirectLength(len);
        long entries = len / Desc.SIZE;
        if (entries > size) {
            throw new RingViolation("indirect table of %d descriptors is longer than the queue size %d (VIRTIO 1.2 §2.8.5, §2.8.17)"
                    .formatted(entries, size));
        }
        GuestRegion region = indirectRegion(mem, addr, len);
        MemorySegment table = region.segment();
        long base = addr - region.guestPhysAddr();
        final Endianness o = order;
        for (int k = 0; k < entries; k++) {
            long off = base + (long) Desc.SIZE * k;
            int flags = o.u16(table, off + Desc.PACKED_FLAGS);
            if ((flags & Desc.F_INDIRECT) != 0) {
                throw new RingViolation("entry %d of an indirect table is itself indirect (VIRTIO 1.2 §2.8.19)".formatted(k));
            }
            chain.addBuffer(o.u64(table, off + Desc.ADDR), o.u32(table, off + Desc.LEN), (flags & Desc.F_WRITE) != 0, mem);
        }
    }

    @Override
    public void addUsed(int headId, int descriptorCount, int bytesWritten) {
        if (isBroken()) {
            return;
        }
        try {
            if (!usedIdInRange(headId, "§2.8.21.1, §2.8.22")) {
                return;
            }
            if (descriptorCount < 1 || descriptorCount > inFlightDescriptors) {
                markBroken("device returned buffer %d as %d descriptors with %d in flight (VIRTIO 1.2 §2.8.6)"
                        .formatted(headId, descriptorCount, inFlightDescriptors));
                return;
            }
            if (pendingCount == pending.length) {
                publishUsedUnguarded();
            }
            if (pendingCount == 0) {
                pendingPos = nextUsed;
                pendingWrap = usedWrap;
            }
            pending[pendingCount++] = (Integer.toUnsignedLong(bytesWritten) << 32) | ((long) descriptorCount << 16)
                    | headId;
            nextUsed += descriptorCount;
            if (nextUsed >= size) {
                nextUsed -= size;
                usedWrap = !usedWrap;
            }
            publishedSinceSignal += descriptorCount;
            inFlightDescriptors -= descriptorCount;
            inFlight--;
            counters.usedChains++;
            counters.usedBytes += Integer.toUnsignedLong(bytesWritten);
        } catch (RuntimeException e) {
            internalError("addUsed", e);
        }
    }

    @Override
    void publishUsedUnguarded() {
        int n = pendingCount;
        if (n == 0) {
            return;
        }
        final Endianness o = order;
        int pos = pendingPos;
        boolean wrap = pendingWrap;
        long firstFlagsOffset = 0;
        int firstFlags = 0;
        for (int i = 0; i < n; i++) {
            long entry = pending[i];
            long len = entry >>> 32;
            long off = (long) Desc.SIZE * pos;
            o.putU32(ring, off + Desc.LEN, len);
            o.putU16(ring, off + Desc.PACKED_ID, (int) entry & 0xFFFF);
            // WRITE in a used descriptor says the device wrote into the buffer (§2.8.3).
            int flags = PackedRing.usedFlags(wrap) | (len != 0 ? Desc.F_WRITE : 0);
            if (i == 0) {
                firstFlagsOffset = off + Desc.PACKED_FLAGS;
                firstFlags = flags;
            } else {
                // Not yet visible: the driver polls the first entry, whose flags are stored last.
                o.putU16Opaque(ring, off + Desc.PACKED_FLAGS, flags);
            }
            logWrite(off, Desc.SIZE);
            pos += (int) (entry >>> 16) & 0xFFFF;
            if (pos >= size) {
                pos -= size;
                wrap = !wrap;
            }
        }
        // Release: every used entry of the burst is written before the first one's flags expose them.
        o.putU16Release(ring, firstFlagsOffset, firstFlags);
        pendingCount = 0;
    }

    @Override
    boolean needsNotificationUnguarded() {
        int advanced = publishedSinceSignal;
        if (advanced == 0 || pendingCount > 0) {
            return false;
        }
        publishedSinceSignal = 0;
        VarHandle.fullFence();
        int flags = order.u16Opaque(driverEvent, EVENT_FLAGS) & 0x3;
        boolean notify;
        if (flags == PackedRing.RING_EVENT_FLAGS_DISABLE) {
            notify = false;
        } else if (flags == PackedRing.RING_EVENT_FLAGS_DESC && eventIdx) {
            notify = !signalledValid || advanced >= size || descEventPassed(order.u16Opaque(driverEvent, EVENT_OFF_WRAP), advanced);
        } else {
            // ENABLE, or a value we may not act on (DESC without EVENT_IDX, reserved 3): notify, which is safe.
            notify = true;
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

    /**
     * Whether the used positions written since the last notification, (signalledUsed, nextUsed], passed the
     * descriptor the driver asked about (off_wrap, §2.8.14). Positions are unwrapped into one 16-bit line.
     */
    private boolean descEventPassed(int offWrap, int advanced) {
        int off = offWrap & 0x7FFF;
        boolean wrap = (offWrap >>> PackedRing.EVENT_WRAP_BIT) != 0;
        int newIdx = nextUsed;
        int oldIdx = newIdx - advanced;
        if (wrap != usedWrap) {
            off -= size;
        }
        return needEvent(off & 0xFFFF, newIdx & 0xFFFF, oldIdx & 0xFFFF);
    }

    @Override
    void disableNotificationsUnguarded() {
        notifyEnabled = false;
        order.putU16Opaque(deviceEvent, EVENT_FLAGS, PackedRing.RING_EVENT_FLAGS_DISABLE);
        logDeviceEvent(EVENT_FLAGS);
    }

    @Override
    boolean enableNotificationsUnguarded() {
        notifyEnabled = true;
        if (eventIdx) {
            writeEventDesc();
            order.putU16Opaque(deviceEvent, EVENT_FLAGS, PackedRing.RING_EVENT_FLAGS_DESC);
        } else {
            order.putU16Opaque(deviceEvent, EVENT_FLAGS, PackedRing.RING_EVENT_FLAGS_ENABLE);
        }
        logDeviceEvent(EVENT_FLAGS);
        VarHandle.fullFence();
        if (isBroken()) {
            return false;
        }
        int flags = order.u16Acquire(ring, (long) Desc.SIZE * nextAvail + Desc.PACKED_FLAGS);
        return PackedRing.isAvail(flags, availWrap);
    }

    /** Asks for a kick when the descriptor at our next position is made available. */
    private void writeEventDesc() {
        order.putU16Opaque(deviceEvent, EVENT_OFF_WRAP, nextAvail | (availWrap ? 1 << PackedRing.EVENT_WRAP_BIT : 0));
        logDeviceEvent(EVENT_OFF_WRAP);
    }

    /**
     * The device event suppression structure is device-written guest memory like the used descriptors: a stale
     * copy after migration would tell the driver not to kick a ring the new device waits on.
     */
    private void logDeviceEvent(long offset) {
        DirtyLog l = log;
        if (l.enabled()) {
            l.mark(deviceEventAddr + offset, 2);
        }
    }

    @Override
    public RingState state() {
        return RingState.packed(nextAvail, availWrap, nextUsed, usedWrap);
    }

    @Override
    public int inFlight() {
        return inFlight;
    }
}

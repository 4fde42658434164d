package io.jvdpa.virtqueue;

import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import io.jvdpa.memory.GuestMemory;
import io.jvdpa.memory.GuestMemoryException;
import io.jvdpa.memory.GuestRegion;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What both ring formats share on the device side: memory, logging, counters and the broken state. */
abstract sealed class BaseDeviceQueue implements DeviceQueue permits SplitDeviceQueue, PackedDeviceQueue {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceQueue.class);

    final VirtqueueFeatures features;
    final int size;
    final Endianness order;
    final QueueCounters counters = new QueueCounters();
    long logAddr;
    volatile GuestMemory memory;
    DirtyLog log;
    /**
     * The log the chains popped here write through: the queue's log as it is at the write, not as it was at the
     * pop. A receive buffer may wait, popped, until a frame arrives, and logging may have started meanwhile.
     */
    final DirtyLog chainLog = new DirtyLog() {
        @Override
        public void mark(long guestPhysAddr, long length) {
            log.mark(guestPhysAddr, length);
        }

        @Override
        public boolean enabled() {
            return log.enabled();
        }
    };
    private volatile boolean broken;
    private volatile String brokenReason;
    private Runnable brokenListener;
    private String label = "virtqueue";

    BaseDeviceQueue(VirtqueueFeatures features, GuestMemory memory, DirtyLog log, long logAddr) {
        this.features = Objects.requireNonNull(features, "features");
        this.size = features.queueSize();
        this.order = features.order();
        this.memory = Objects.requireNonNull(memory, "memory");
        this.log = Objects.requireNonNull(log, "log");
        this.logAddr = logAddr;
    }

    @Override
    public final boolean isBroken() {
        return broken;
    }

    @Override
    public final String brokenReason() {
        return brokenReason;
    }

    @Override
    public final void setBrokenListener(Runnable listener) {
        this.brokenListener = listener;
    }

    @Override
    public final VirtqueueFeatures features() {
        return features;
    }

    @Override
    public final QueueCounters counters() {
        return counters;
    }

    @Override
    public final GuestMemory memory() {
        return memory;
    }

    @Override
    public final void setMemory(GuestMemory memory) {
        this.memory = Objects.requireNonNull(memory, "memory");
    }

    @Override
    public final void moveTo(GuestMemory memory, RingAreas areas, long logAddr, long deviceAreaAddr) {
        areas.check(features);
        moveAreas(areas, deviceAreaAddr);
        this.logAddr = logAddr;
        setMemory(memory);
    }

    /** Takes the ring's areas (already checked) and the device area's guest-physical address. */
    abstract void moveAreas(RingAreas areas, long deviceAreaAddr);

    @Override
    public final void setDirtyLog(DirtyLog log) {
        this.log = Objects.requireNonNull(log, "log");
    }

    @Override
    public final void setLogAddress(long logAddr) {
        this.logAddr = logAddr;
    }

    @Override
    public final void setLabel(String label) {
        this.label = Objects.requireNonNull(label, "label");
    }

    /**
     * Breaks the queue: counted, logged once, the listener told once. Pops return false from now on; the other
     * queues are not affected.
     */
    @Override
    public final void markBroken(String reason) {
        counters.errors++;
        if (broken) {
            return;
        }
        brokenReason = reason;
        broken = true;
        LOG.warn("{} ({} {}, size {}) is broken, no more buffers will be taken from it: {}", label,
                features.packed() ? "packed" : "split", order, size, reason);
        Runnable listener = brokenListener;
        if (listener != null) {
            try {
                listener.run();
            } catch (RuntimeException e) {
                LOG.warn("{}: broken-queue listener failed", label, e);
            }
        }
    }

    // The ring operations below run on the event loop: whatever goes wrong inside them breaks this queue only.

    @Override
    public final void publishUsed() {
        try {
            publishUsedUnguarded();
        } catch (RuntimeException e) {
            internalError("publishUsed", e);
        }
    }

    @Override
    public final boolean needsNotification() {
        try {
            return needsNotificationUnguarded();
        } catch (RuntimeException e) {
            internalError("needsNotification", e);
            return false;
        }
    }

    @Override
    public final void disableNotifications() {
        try {
            disableNotificationsUnguarded();
        } catch (RuntimeException e) {
            internalError("disableNotifications", e);
        }
    }

    @Override
    public final boolean enableNotifications() {
        try {
            return enableNotificationsUnguarded();
        } catch (RuntimeException e) {
            internalError("enableNotifications", e);
            return false;
        }
    }

    abstract void publishUsedUnguarded();

    abstract boolean needsNotificationUnguarded();

    abstract void disableNotificationsUnguarded();

    abstract boolean enableNotificationsUnguarded();

    /** An unexpected exception inside the ring code: break the queue rather than let it reach the event loop. */
    final void internalError(String where, RuntimeException e) {
        LOG.warn("{}: unexpected failure in {}", label, where, e);
        markBroken("unexpected failure in " + where + ": " + e);
    }

    /**
     * Whether {@code headId}, which the device returns used, names one of the queue's buffers; if not, breaks the
     * queue before the ring is written. The device is trusted code, but the driver indexes its per-buffer state
     * with the id ({@code section} says where each format defines it), and a packed ring's 16-bit field would
     * silently wrap a larger one onto another buffer.
     */
    final boolean usedIdInRange(int headId, String section) {
        if (headId >= 0 && headId < size) {
            return true;
        }
        markBroken("device returned buffer id %d, queue size is %d (VIRTIO 1.2 %s)".formatted(headId, size, section));
        return false;
    }

    /** Marks {@code [offset, offset+length)} of the device-written area dirty, when migration logging is on. */
    final void logWrite(long offset, long length) {
        DirtyLog l = log;
        if (l.enabled()) {
            l.mark(logAddr + offset, length);
        }
    }

    /**
     * The region holding an indirect descriptor table, which must lie in one region (VIRTIO 1.2 §2.7.5.3: it is
     * read as one table). The length is already known to be a non-zero multiple of 16.
     */
    static GuestRegion indirectRegion(GuestMemory memory, long addr, long len) {
        try {
            return memory.regionFor(addr, len);
        } catch (GuestMemoryException e) {
            throw new RingViolation("indirect table [0x%x, +%d) is not inside one guest memory region (VIRTIO 1.2 §2.7.5.3): %s"
                    .formatted(addr, len, e.getMessage()));
        }
    }

    static void checkIndirectLength(long len) {
        if (len == 0 || len % Desc.SIZE != 0) {
            throw new RingViolation(
                    "indirect table length %d is zero or not a multiple of 16 (VIRTIO 1.2 §2.7.5.3, §2.8.7)"
                            .formatted(len));
        }
    }

    /** Used-ring / event index arithmetic from the spec (§2.7.10, vring_need_event): has idx passed event? */
    static boolean needEvent(int eventIdx, int newIdx, int oldIdx) {
        return ((newIdx - eventIdx - 1) & 0xFFFF) < ((newIdx - oldIdx) & 0xFFFF);
    }

    static MemorySegment require(MemorySegment s, String what) {
        return Objects.requireNonNull(s, what);
    }

    @Override
    public String toString() {
        return "%s[%s, size=%d, %s, state=%s%s]".formatted(getClass().getSimpleName(), label, size, order, state(),
                broken ? ", broken: " + brokenReason : "");
    }
}

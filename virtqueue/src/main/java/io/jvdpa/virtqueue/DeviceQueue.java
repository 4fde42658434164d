package io.jvdpa.virtqueue;

import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.GuestMemory;
import java.lang.foreign.MemorySegment;

/**
 * A virtqueue seen from the device: take available buffers, give them back used, and decide about
 * notifications.
 *
 * <p>One thread drives a queue. In steady state nothing allocates. A typical burst:
 * <pre>{@code
 * while (queue.pop(chain)) { ...; queue.addUsed(chain, written); }
 * queue.publishUsed();
 * if (queue.needsNotification()) call.signal();
 * }</pre>
 *
 * <p>A driver that breaks a ring rule (a chain that loops, an index out of range, memory outside the guest...)
 * is caught before any access outside guest memory: the queue is marked broken, the cause is logged once and
 * counted, and from then on {@link #pop} returns false. No exception leaves pop or addUsed; the caller asks
 * {@link #isBroken()} and reports DEVICE_NEEDS_RESET where the transport has it.
 */
public sealed interface DeviceQueue permits BaseDeviceQueue {

    /**
     * Creates the queue for the negotiated format.
     *
     * @param areas   descriptor, driver and device areas, already translated to segments
     * @param memory  guest memory that buffers point into
     * @param log     where written guest pages are recorded while migrating ({@link DirtyLog#NONE} otherwise)
     * @param logAddr guest-physical address of the area the device writes: the used ring (split) or the
     *                descriptor ring (packed)
     * @param deviceAreaAddr guest-physical address of the device area: a packed ring's device event suppression
     *                structure, which the device writes too (a split ring's is the used ring, logged at logAddr)
     * @param start   where to resume (GET/SET_VRING_BASE)
     * @throws IllegalArgumentException if an area is too small or misaligned for the queue
     */
    static DeviceQueue create(VirtqueueFeatures features, RingAreas areas, GuestMemory memory, DirtyLog log,
            long logAddr, long deviceAreaAddr, RingState start) {
        return features.packed()
                ? new PackedDeviceQueue(features, areas.descriptors(), areas.driverArea(), areas.deviceArea(), memory,
                        log, logAddr, deviceAreaAddr, start)
                : new SplitDeviceQueue(features, areas.descriptors(), areas.driverArea(), areas.deviceArea(), memory,
                        log, logAddr, start);
    }

    /**
     * Fills {@code chain} with the next available buffer. Returns false if there is none, or if the queue is (or
     * just became) broken.
     */
    boolean pop(DescriptorChain chain);

    /**
     * Split rings: takes again a buffer that was in flight when a previous device instance stopped (vhost-user
     * inflight I/O tracking). Parses the chain from descriptor {@code headId} as {@link #pop} would, without reading
     * the available ring, and counts it in flight. The driver leaves an in-flight chain's descriptors alone, so
     * they still describe the buffer. Returns false if the queue is (or just became) broken.
     *
     * @throws IllegalStateException on a packed ring
     */
    boolean chainAt(int headId, DescriptorChain chain);

    /**
     * Packed rings: takes again an in-flight buffer from a saved copy of its descriptor list ({@code count}
     * descriptors laid out as in the descriptor ring, in the queue's byte order), since used entries may have
     * overwritten the ring slots it came from. Counts it in flight. Returns false if the queue is (or just became)
     * broken.
     *
     * @throws IllegalStateException on a split ring
     */
    boolean chainFrom(MemorySegment descriptors, int count, DescriptorChain chain);

    /**
     * Returns a buffer to the driver with {@code bytesWritten} bytes written into its device-writable part.
     * Completions may come in any order. Entries become visible to the driver at {@link #publishUsed()}.
     */
    void addUsed(int headId, int descriptorCount, int bytesWritten);

    default void addUsed(DescriptorChain chain, int bytesWritten) {
        if (bytesWritten < 0 || bytesWritten > chain.writableBytes()) {
            usedLengthInvalid(chain, bytesWritten);
            return;
        }
        addUsed(chain.headId(), chain.descriptorCount(), bytesWritten);
    }

    /** Returns a buffer with the length its writer counted. */
    default void addUsed(DescriptorChain chain) {
        addUsed(chain, (int) chain.bytesWritten());
    }

    /** Makes every entry added since the last publish visible, with one release store. */
    void publishUsed();

    /**
     * After a publish: whether the driver wants a used buffer notification for what was published since the
     * previous call (EVENT_IDX used_event, VIRTQ_AVAIL_F_NO_INTERRUPT, or packed event suppression), read after
     * a full fence.
     */
    boolean needsNotification();

    /** Asks the driver not to send available buffer notifications (kicks) while the device polls. */
    void disableNotifications();

    /**
     * Asks for kicks again. Returns true if buffers became available meanwhile (checked after a full fence), in
     * which case the caller must poll again instead of sleeping.
     */
    boolean enableNotifications();

    boolean isBroken();

    /** Why the queue is broken, naming the rule and the spec section; null while it is not. */
    String brokenReason();

    /** Called once, on the queue's thread, when the queue becomes broken. */
    void setBrokenListener(Runnable listener);

    /** Where the queue stands now (GET_VRING_BASE). */
    RingState state();

    /** Chains popped and not yet returned. */
    int inFlight();

    VirtqueueFeatures features();

    QueueCounters counters();

    GuestMemory memory();

    /** Swaps in a new memory table; chains popped afterwards resolve through it. */
    void setMemory(GuestMemory memory);

    /**
     * Moves the ring onto a new memory table where it stands: the same ring, its areas mapped anew, its state,
     * counters and listeners kept, so a device holding this object carries on. Buffers popped before the move still
     * point into the old table.
     *
     * @param logAddr        as for {@link #create}: where the device-written area is logged in the new table
     * @param deviceAreaAddr as for {@link #create}: the device area's guest-physical address in the new table
     * @throws IllegalArgumentException if an area is too small or misaligned for the queue
     */
    void moveTo(GuestMemory memory, RingAreas areas, long logAddr, long deviceAreaAddr);

    void setDirtyLog(DirtyLog log);

    /**
     * Moves where the device-written ring area is logged (split: the used ring, at the address the front-end gives
     * with VHOST_VRING_F_LOG; packed: the descriptor ring), without touching the ring's state.
     */
    void setLogAddress(long logAddr);

    /** A name for log lines (e.g. "net0 rx 0"). */
    void setLabel(String label);

    /** Marks the queue broken from outside (for example when the transport found it inconsistent). */
    void markBroken(String reason);

    /** A chain object sized for nothing in particular: reuse one per queue thread. */
    default DescriptorChain newChain() {
        return new DescriptorChain();
    }

    /** Marks the queue broken because the device reported more bytes than the buffer holds. */
    private void usedLengthInvalid(DescriptorChain chain, int bytesWritten) {
        markBroken("device reported %d bytes written into buffer %d, which has %d writable bytes (VIRTIO 1.2 §2.7.8.2)"
                .formatted(Integer.toUnsignedLong(bytesWritten), chain.headId(), chain.writableBytes()));
    }
}

package io.jvdpa.device;

import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import io.jvdpa.memory.GuestMemory;
import io.jvdpa.memory.GuestMemoryException;
import io.jvdpa.vhostuser.VhostUserException;
import io.jvdpa.vhostuser.VringAddr;
import io.jvdpa.virtqueue.DeviceQueue;
import io.jvdpa.virtqueue.RingAreas;
import io.jvdpa.virtqueue.RingState;
import io.jvdpa.virtqueue.VirtqueueFeatures;

/** Opens a queue's ring from what the front-end configured: translates its three areas and checks them. */
final class RingFactory {
    private RingFactory() {}

    static DeviceQueue open(Queue q, GuestMemory memory, RingState state, long features, Endianness order,
                            DirtyLog log, Runnable onBroken) throws VhostUserException {
        VringAddr a = q.addr;
        int n = q.size;
        boolean packed = VirtioFeatures.has(features, VirtioFeatures.RING_PACKED);
        VirtqueueFeatures vf = new VirtqueueFeatures(n, packed, VirtioFeatures.has(features, VirtioFeatures.RING_EVENT_IDX),
                VirtioFeatures.has(features, VirtioFeatures.RING_INDIRECT_DESC), order);
        try {
            RingAreas areas = areas(q, memory, vf);
            DeviceQueue ring = DeviceQueue.create(vf, areas, memory, log, logAddress(a, memory, packed),
                    memory.userToGuest(a.used()), state);
            ring.setLabel("queue " + q.index());
            ring.setBrokenListener(onBroken);
            return ring;
        } catch (GuestMemoryException | IllegalArgumentException e) {
            throw refused(q, e);
        }
    }

    /**
     * Moves a running ring onto a new memory table where it stands (the front-end's addresses for it stay valid),
     * so the device keeps the ring object it holds.
     */
    static void move(Queue q, GuestMemory memory) throws VhostUserException {
        DeviceQueue ring = q.ring;
        VirtqueueFeatures vf = ring.features();
        try {
            ring.moveTo(memory, areas(q, memory, vf), logAddress(q.addr, memory, vf.packed()),
                    memory.userToGuest(q.addr.used()));
        } catch (GuestMemoryException | IllegalArgumentException e) {
            throw refused(q, e);
        }
    }

    /** The ring's three areas in {@code memory}; the ring checks them against its format. */
    private static RingAreas areas(Queue q, GuestMemory memory, VirtqueueFeatures vf) {
        VringAddr a = q.addr;
        long n = q.size;
        // Sizes from VIRTIO 1.2 2.7 (split, event fields included) and 2.8 (packed).
        return vf.packed()
                ? new RingAreas(memory.sliceUser(a.desc(), 16L * n), memory.sliceUser(a.avail(), 4),
                        memory.sliceUser(a.used(), 4))
                : new RingAreas(memory.sliceUser(a.desc(), 16L * n), memory.sliceUser(a.avail(), 6 + 2L * n),
                        memory.sliceUser(a.used(), 6 + 8L * n));
    }

    private static VhostUserException refused(Queue q, RuntimeException e) {
        VringAddr a = q.addr;
        return new VhostUserException("queue %d (size %d, desc 0x%x, avail 0x%x, used 0x%x): %s"
                .formatted(q.index(), q.size, a.desc(), a.avail(), a.used(), e.getMessage()));
    }

    /**
     * Where the ring's device-written area is logged: a split ring's used ring at the address the front-end gave
     * with VHOST_VRING_F_LOG (or its own), a packed ring's descriptors at theirs.
     */
    static long logAddress(VringAddr a, GuestMemory memory, boolean packed) throws GuestMemoryException {
        return packed ? memory.userToGuest(a.desc()) : a.logUsed() ? a.log() : memory.userToGuest(a.used());
    }
}

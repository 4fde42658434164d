package io.jvdpa.device;

import io.jvdpa.sys.EventFd;
import io.jvdpa.sys.Fd;
import io.jvdpa.vhostuser.VringAddr;
import io.jvdpa.virtqueue.DescriptorChain;
import io.jvdpa.virtqueue.DeviceQueue;

/**
 * One virtqueue of a device as the framework runs it: what the front-end configured (size, addresses,
 * base, kick and call fds, enable), the ring once started, the worker it runs on, and its counters.
 *
 * <p>The configuration fields are written by the connection thread while the ring is stopped; the ring
 * and counters belong to the worker thread.
 */
public final class Queue {
    private final int index;

    // Set by the front-end while the ring is stopped.
    int size;
    VringAddr addr;
    long base;
    EventFd kick;
    volatile EventFd err;
    volatile EventFd call;
    volatile boolean enabled;

    // Owned by the worker while running.
    volatile DeviceQueue ring;
    /** Records what is in flight in the shared inflight area, when the front-end gave one. */
    InflightTracker inflight;
    Worker worker;
    int kickKey = -1;
    long kicks;
    long notifications;

    Queue(int index) {
        this.index = index;
    }

    public int index() {
        return index;
    }

    /** The ring, while started; device code calls pop/addUsed on it. */
    public DeviceQueue ring() {
        return ring;
    }

    public boolean started() {
        return ring != null;
    }

    /** A started but disabled ring is processed without side effects (vhost-user "Ring states"). */
    public boolean enabled() {
        return enabled;
    }

    public Worker worker() {
        return worker;
    }

    /**
     * Takes the next buffer: first any the device had in flight before a reconnect (in the order they were first
     * taken), then the ring's. Devices that offer INFLIGHT_SHMFD take and return buffers through the queue
     * ({@link #pop}, {@link #addUsed}, {@link #publish}) rather than the ring, so that what is in flight is
     * recorded; for the others this is the same as {@code ring().pop(chain)}.
     */
    public boolean pop(DescriptorChain chain) {
        DeviceQueue r = ring;
        InflightTracker t = inflight;
        if (t == null) {
            return r.pop(chain);
        }
        if (t.resubmitting() && t.resubmit(r, chain)) {
            return true;
        }
        if (!r.pop(chain)) {
            return false;
        }
        t.popped(chain);
        return true;
    }

    /** Returns a buffer with {@code bytesWritten} bytes written; visible to the driver at {@link #publish}. */
    public void addUsed(DescriptorChain chain, int bytesWritten) {
        ring.addUsed(chain, bytesWritten);
        InflightTracker t = inflight;
        if (t != null) {
            t.used(chain);
        }
    }

    /** Publishes the used entries added since the last call and notifies the driver if it wants to know. */
    public void publish() {
        DeviceQueue r = ring;
        InflightTracker t = inflight;
        if (t == null) {
            r.publishUsed();
        } else {
            t.publish(r);
        }
        if (r.needsNotification()) {
            notifyDriver();
        }
    }

    /** Buffers taken before a reconnect that are still to be handed out again by {@link #pop}. */
    public int pendingResubmissions() {
        InflightTracker t = inflight;
        return t == null ? 0 : t.pendingResubmissions();
    }

    /** Signals the call eventfd unconditionally (config changes, errors). */
    public void notifyDriver() {
        EventFd c = call;
        if (c != null) {
            try {
                c.signal();
                notifications++;
            } catch (io.jvdpa.sys.LinuxException | IllegalStateException e) {
                // The front-end closed or replaced the call fd under us: it will learn from the used ring.
            }
        }
    }

    public long kicks() {
        return kicks;
    }

    public long notifications() {
        return notifications;
    }

    public int size() {
        return size;
    }
}

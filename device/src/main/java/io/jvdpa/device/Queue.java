package io.jvdpa.device;

import io.jvdpa.sys.EventFd;
import io.jvdpa.sys.Fd;
import io.jvdpa.vhostuser.VringAddr;
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
    Fd err;
    volatile EventFd call;
    volatile boolean enabled;

    // Owned by the worker while running.
    volatile DeviceQueue ring;
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

    /** Publishes the used entries added since the last call and notifies the driver if it wants to know. */
    public void publish() {
        DeviceQueue r = ring;
        r.publishUsed();
        if (r.needsNotification()) {
            notifyDriver();
        }
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

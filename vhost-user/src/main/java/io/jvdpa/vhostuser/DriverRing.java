package io.jvdpa.vhostuser;

import io.jvdpa.sys.EventFd;
import io.jvdpa.sys.LinuxException;
import io.jvdpa.virtqueue.DriverQueue;

/** One ring a front-end set up: the driver side of the queue plus its kick and call eventfds. */
public record DriverRing(int index, DriverQueue queue, EventFd kick, EventFd call) implements AutoCloseable {
    /** Publishes what was posted and kicks the back-end if it asked for kicks. */
    public void publishAndKick() throws LinuxException {
        queue.publish();
        if (queue.needsKick()) {
            kick.signal();
        }
    }

    @Override
    public void close() {
        kick.close();
        call.close();
    }
}

package io.jvdpa.vhostuser;

import io.jvdpa.sys.EventFd;
import io.jvdpa.sys.LinuxException;
import io.jvdpa.virtqueue.DriverQueue;
import io.jvdpa.virtqueue.UsedBuffer;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/** One ring a front-end set up: the driver side of the queue plus its kick and call eventfds. */
public record DriverRing(int index, DriverQueue queue, EventFd kick, EventFd call) implements AutoCloseable {
    /** How long {@link #awaitUsed} spins: a running back-end answers well within it, and a slow one gets the core. */
    private static final long SPIN_NANOS = 200_000;

    /** Publishes what was posted and kicks the back-end if it asked for kicks. */
    public void publishAndKick() throws LinuxException {
        queue.publish();
        if (queue.needsKick()) {
            kick.signal();
        }
    }

    /**
     * Waits for the next used buffer and reaps it into {@code into}. Polls the used ring rather than the call
     * eventfd, so the driver's notification suppression and whatever counts calls stay untouched.
     *
     * @return {@code into}
     * @throws TimeoutException naming this ring and {@code timeout}, if no used buffer came within it
     */
    public UsedBuffer awaitUsed(UsedBuffer into, Duration timeout) throws InterruptedException, TimeoutException {
        long start = System.nanoTime();
        while (!queue.reap(into)) {
            long waited = System.nanoTime() - start;
            if (waited > timeout.toNanos()) {
                throw new TimeoutException("virtqueue " + index + ": no used buffer within " + timeout.toMillis() + " ms");
            }
            if (waited < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                Thread.sleep(1);
            }
        }
        return into;
    }

    @Override
    public void close() {
        kick.close();
        call.close();
    }
}

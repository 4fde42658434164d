package io.jvdpa.cli.probe;

import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.VhostUserException;
import io.jvdpa.virtqueue.UsedBuffer;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/** A short request through a back-end's rings that proves a driver kind works; one per device type. */
interface Exchange {
    /** What went through, for the verdict's reason; throws {@link ExchangeFailed} naming what did not. */
    String run(DriverSession session, DriverKind kind, Duration timeout)
            throws IOException, VhostUserException, ExchangeFailed;

    /** Feature bits of the device type the exchange needs acked (beyond VERSION_1 / RING_PACKED). */
    default long deviceFeatures() {
        return 0;
    }

    /** The exchange did not complete; the message says which step. */
    final class ExchangeFailed extends Exception {
        private static final long serialVersionUID = 1L;

        ExchangeFailed(String message) {
            super(message);
        }
    }

    /** Waits for the next used buffer of {@code ring}; false if none came within {@code timeout}. */
    static boolean awaitUsed(DriverRing ring, UsedBuffer used, Duration timeout) {
        try {
            ring.awaitUsed(used, timeout);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}

package io.jvdpa.testing;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A virtio-net device whose data path is served by a vhost-user back-end listening on {@code socket}.
 *
 * @param mac       the guest's MAC address, or null for one derived from the device's position
 * @param queues    queue pairs ({@code queues=} on the netdev; more than one turns on {@code mq})
 * @param reconnect QEMU reconnects every second when the back-end goes away ({@code reconnect=1}); QEMU reports
 *                  the lost connection on stderr, so a test that restarts its back-end also turns off
 *                  {@link QemuGuest.Builder#failOnVhostError(boolean)}
 * @param mergeable the device offers mergeable receive buffers (QEMU's default); without them a legacy driver's
 *                  virtio-net header is 10 bytes, and Linux gives its large receive buffers the header in a
 *                  descriptor of its own ({@code mrg_rxbuf=off})
 */
public record VhostUserNet(Path socket, VirtioMode mode, String mac, int queues, boolean reconnect,
                           boolean mergeable) {
    public VhostUserNet {
        Objects.requireNonNull(socket, "socket");
        Objects.requireNonNull(mode, "mode");
        if (queues < 1) {
            throw new IllegalArgumentException("queues must be at least 1: " + queues);
        }
        if (mac != null && !mac.matches("(?i)([0-9a-f]{2}:){5}[0-9a-f]{2}")) {
            throw new IllegalArgumentException("not a MAC address: " + mac);
        }
    }

    public static VhostUserNet of(Path socket, VirtioMode mode) {
        return new VhostUserNet(socket, mode, null, 1, false, true);
    }

    public VhostUserNet withMac(String newMac) {
        return new VhostUserNet(socket, mode, newMac, queues, reconnect, mergeable);
    }

    public VhostUserNet withQueues(int newQueues) {
        return new VhostUserNet(socket, mode, mac, newQueues, reconnect, mergeable);
    }

    public VhostUserNet withReconnect(boolean newReconnect) {
        return new VhostUserNet(socket, mode, mac, queues, newReconnect, mergeable);
    }

    public VhostUserNet withMergeableRxBuffers(boolean newMergeable) {
        return new VhostUserNet(socket, mode, mac, queues, reconnect, newMergeable);
    }
}

package io.jvdpa.testing;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A virtio-blk device served by a vhost-user back-end listening on {@code socket}. The guest sees the disks
 * in the order they were added: /dev/vda, /dev/vdb, ...
 *
 * @param queues    request queues ({@code num-queues=})
 * @param reconnect QEMU reconnects every second when the back-end goes away ({@code reconnect=1}); QEMU reports
 *                  the lost connection on stderr, so a test that restarts its back-end also turns off
 *                  {@link QemuGuest.Builder#failOnVhostError(boolean)}
 */
public record VhostUserBlk(Path socket, VirtioMode mode, int queues, boolean reconnect) {
    public VhostUserBlk {
        Objects.requireNonNull(socket, "socket");
        Objects.requireNonNull(mode, "mode");
        if (queues < 1) {
            throw new IllegalArgumentException("queues must be at least 1: " + queues);
        }
    }

    public static VhostUserBlk of(Path socket, VirtioMode mode) {
        return new VhostUserBlk(socket, mode, 1, false);
    }

    public VhostUserBlk withQueues(int newQueues) {
        return new VhostUserBlk(socket, mode, newQueues, reconnect);
    }

    public VhostUserBlk withReconnect(boolean newReconnect) {
        return new VhostUserBlk(socket, mode, queues, newReconnect);
    }
}

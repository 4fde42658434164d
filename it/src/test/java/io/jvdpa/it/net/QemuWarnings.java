package io.jvdpa.it.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.testing.QemuGuest;
import java.util.List;

/**
 * QEMU's complaints about a net device's vhost-user back-end, less the one that is not a failure: QEMU 7.2's
 * virtio-net has no use for the CONFIG protocol feature (it keeps the config space itself) and says so with a
 * warning when a back-end offers it, as jvdpa does for front-ends that read config space through it.
 */
final class QemuWarnings {
    private static final String CONFIG_NOT_USED = "supports VHOST_USER_PROTOCOL_F_CONFIG but QEMU does not";

    private QemuWarnings() {}

    static List<String> vhostErrors(QemuGuest guest) {
        return guest.qemuErrors().stream().filter(l -> !l.contains(CONFIG_NOT_USED)).toList();
    }

    static void requireNoVhostErrors(QemuGuest guest) {
        assertThat(vhostErrors(guest)).as("QEMU's stderr:\n%s", guest.qemuStderr()).isEmpty();
    }
}

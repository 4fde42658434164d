package io.jvdpa.it.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.VhostUserNet;
import io.jvdpa.testing.VirtioMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two guests on one {@code switch:} network: both devices in one jvdpa process (the daemon), joined by its
 * learning switch. One guest's driver is modern, the other's forced legacy, so frames cross between the two
 * header formats. They ping each other, and 4 MiB of TCP goes from one to the other with the checksums the
 * modern driver left partial completed by the device.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class NetSwitchIT {
    private static final Duration SHORT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void twoGuestsOnOneSwitchReachEachOther() throws Exception {
        Path a = dir.resolve("a.sock");
        Path b = dir.resolve("b.sock");
        Path config = dir.resolve("jvdpa.yaml");
        Files.writeString(config, """
                control-socket: %s
                devices:
                  - name: a
                    type: net
                    socket-path: %s
                    network: switch:lab
                    mac: "52:54:00:00:88:01"
                  - name: b
                    type: net
                    socket-path: %s
                    network: switch:lab
                    mac: "52:54:00:00:88:02"
                """.formatted(dir.resolve("control.sock"), a, b));
        try (JvdpaProcess daemon = JvdpaProcess.start("jvdpa-switch", "daemon", "--config", config.toString())) {
            daemon.process().awaitOutput(Pattern.compile("jvdpa daemon: 2 devices"), Duration.ofSeconds(60), true);
            CompletableFuture<QemuGuest> bootA = CompletableFuture.supplyAsync(() -> QemuGuest
                    .builder(GuestArch.X86_64).name("switch-a")
                    .net(VhostUserNet.of(a, VirtioMode.MODERN_ONLY).withMac("52:54:00:00:88:01"))
                    .failOnVhostError(false).start());
            CompletableFuture<QemuGuest> bootB = CompletableFuture.supplyAsync(() -> QemuGuest
                    .builder(GuestArch.X86_64).name("switch-b")
                    .net(VhostUserNet.of(b, VirtioMode.TRANSITIONAL).withMac("52:54:00:00:88:02"))
                    .forceLegacy(true).failOnVhostError(false).start());
            try (QemuGuest guestA = bootA.get(2, TimeUnit.MINUTES); QemuGuest guestB = bootB.get(2, TimeUnit.MINUTES)) {
                QemuWarnings.requireNoVhostErrors(guestA);
                QemuWarnings.requireNoVhostErrors(guestB);
                guestA.execOk("ip link set eth0 up && ip addr add 10.88.0.1/24 dev eth0", SHORT);
                guestB.execOk("ip link set eth0 up && ip addr add 10.88.0.2/24 dev eth0", SHORT);
                assertThat(guestA.execOk("ping -c 20 -i 0.01 -W 5 10.88.0.2", SHORT))
                        .contains("20 packets transmitted, 20 packets received");
                assertThat(guestB.execOk("ping -c 20 -i 0.01 -W 5 10.88.0.1", SHORT))
                        .contains("20 packets transmitted, 20 packets received");

                // The listener's stdin stays open: busybox nc closes its sending side at EOF on stdin, and the
                // sender's nc gives up as soon as it sees that.
                guestB.execOk("(sleep 600 | nc -l -p 6000 > /tmp/in &) ; sleep 0.2", SHORT);
                guestA.execOk("dd if=/dev/urandom of=/tmp/out bs=1M count=4 2>/dev/null", SHORT);
                guestA.execOk("nc 10.88.0.2 6000 < /tmp/out", Duration.ofMinutes(1));
                String sent = guestA.execOk("sha256sum /tmp/out", SHORT).split("\\s+")[0];
                String got = guestB.execOk("while pidof nc > /dev/null; do sleep 0.1; done; sha256sum /tmp/in",
                        Duration.ofMinutes(1)).split("\\s+")[0];
                guestB.exec("kill $(pidof sleep) 2>/dev/null", SHORT);
                assertThat(got).isEqualTo(sent);
                QemuWarnings.requireNoVhostErrors(guestA);
                QemuWarnings.requireNoVhostErrors(guestB);
            }
        }
    }
}

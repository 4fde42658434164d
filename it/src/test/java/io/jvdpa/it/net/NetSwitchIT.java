package io.jvdpa.it.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.GuestVirtioDevice;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.VhostUserNet;
import io.jvdpa.testing.VirtioMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Two guests on one {@code switch:} network: both devices in one jvdpa process (the daemon), joined by its
 * learning switch. Each of the four x86 driver kinds takes part: one pair is a modern-only device and a
 * transitional one with the driver forced legacy, the other a legacy-only device and a packed ring, so frames
 * cross between the two header formats and between split and packed rings. Each guest's own view of its driver
 * kind is checked; the two ping each other, and 4 MiB of TCP goes from one to the other with the checksums a
 * modern driver left partial completed by the device.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class NetSwitchIT {
    private static final Duration SHORT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    /** One guest's device: the interface it offers and whether the driver is forced legacy. */
    enum Kind {
        LEGACY_ONLY(VirtioMode.LEGACY_ONLY, false),
        TRANSITIONAL_FORCED_LEGACY(VirtioMode.TRANSITIONAL, true),
        MODERN_ONLY(VirtioMode.MODERN_ONLY, false),
        PACKED(VirtioMode.PACKED, false);

        final VirtioMode mode;
        final boolean forceLegacy;

        Kind(VirtioMode mode, boolean forceLegacy) {
            this.mode = mode;
            this.forceLegacy = forceLegacy;
        }

        boolean legacy() {
            return mode == VirtioMode.LEGACY_ONLY || forceLegacy;
        }
    }

    @ParameterizedTest(name = "{0} and {1}")
    @CsvSource({"MODERN_ONLY, TRANSITIONAL_FORCED_LEGACY", "LEGACY_ONLY, PACKED"})
    void twoGuestsOnOneSwitchReachEachOther(Kind kindA, Kind kindB) throws Exception {
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
        try (JvdpaProcess daemon = JvdpaProcess.start("jvdpa-switch-" + kindA + "-" + kindB, "daemon", "--config",
                config.toString())) {
            daemon.process().awaitOutput(Pattern.compile("jvdpa daemon: 2 devices"), Duration.ofSeconds(60), true);
            CompletableFuture<QemuGuest> bootA = CompletableFuture.supplyAsync(() -> QemuGuest
                    .builder(GuestArch.X86_64).name("switch-a-" + kindA)
                    .net(VhostUserNet.of(a, kindA.mode).withMac("52:54:00:00:88:01"))
                    .forceLegacy(kindA.forceLegacy).failOnVhostError(false).start());
            CompletableFuture<QemuGuest> bootB = CompletableFuture.supplyAsync(() -> QemuGuest
                    .builder(GuestArch.X86_64).name("switch-b-" + kindB)
                    .net(VhostUserNet.of(b, kindB.mode).withMac("52:54:00:00:88:02"))
                    .forceLegacy(kindB.forceLegacy).failOnVhostError(false).start());
            try (QemuGuest guestA = bootA.get(2, TimeUnit.MINUTES); QemuGuest guestB = bootB.get(2, TimeUnit.MINUTES)) {
                QemuWarnings.requireNoVhostErrors(guestA);
                QemuWarnings.requireNoVhostErrors(guestB);
                checkDriverKind(guestA, kindA);
                checkDriverKind(guestB, kindB);
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

    /** The guest's own sysfs says which driver kind it runs; it must be the one the device was set up for. */
    private static void checkDriverKind(QemuGuest guest, Kind kind) {
        List<GuestVirtioDevice> nics = guest.virtioDevices().stream()
                .filter(d -> d.deviceId() == GuestVirtioDevice.NET).toList();
        assertThat(nics).as("net devices in %s", guest.name()).hasSize(1);
        GuestVirtioDevice nic = nics.getFirst();
        assertThat(nic.driverOk()).as("%s", nic).isTrue();
        assertThat(nic.modern()).as("VERSION_1 negotiated on %s (%s)", nic, kind).isEqualTo(!kind.legacy());
        assertThat(nic.hasFeature(GuestVirtioDevice.RING_PACKED)).as("RING_PACKED on %s (%s)", nic, kind)
                .isEqualTo(kind.mode == VirtioMode.PACKED);
    }
}

package io.jvdpa.it.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.GuestVirtioDevice;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.VhostUserNet;
import io.jvdpa.testing.VirtioMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A real Linux guest on jvdpa's net device, for each way a guest's driver can meet it: a legacy-only device, a
 * transitional device with the driver forced legacy, a modern-only device and a packed-ring device. One guest per
 * case carries two devices: eth0 on the gateway network, eth1 on a host TAP device.
 *
 * <ul>
 *   <li>eth0: 100 pings to the gateway (none lost) and ping6 to its link-local address;</li>
 *   <li>eth1: host and guest ping each other; 16 MiB of random data over TCP in each direction, SHA-256 taken
 *       at both ends.</li>
 * </ul>
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class NetGuestIT {
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final Duration TRANSFER = Duration.ofMinutes(2);
    private static final int PINGS = 100;
    private static final int BULK = 16 << 20;
    private static final String GATEWAY_IP6 = "fe80::5054:ff:fe12:3502";
    private static final int ANY_LAYOUT = 27;

    @TempDir
    Path dir;

    enum Case {
        /** Without ANY_LAYOUT: the driver puts each virtio-net header in a descriptor of its own. */
        LEGACY_ONLY(VirtioMode.LEGACY_ONLY, false, 1, false, false),
        TRANSITIONAL_FORCED_LEGACY(VirtioMode.TRANSITIONAL, true, 2, false, true),
        MODERN_ONLY(VirtioMode.MODERN_ONLY, false, 3, true, true),
        PACKED(VirtioMode.PACKED, false, 4, false, true);

        final VirtioMode mode;
        final boolean forceLegacy;
        final int subnet;
        /** The TAP device exists before jvdpa starts (made with ip tuntap), so jvdpa reuses it. */
        final boolean existingTap;
        final boolean anyLayout;

        Case(VirtioMode mode, boolean forceLegacy, int subnet, boolean existingTap, boolean anyLayout) {
            this.mode = mode;
            this.forceLegacy = forceLegacy;
            this.subnet = subnet;
            this.existingTap = existingTap;
            this.anyLayout = anyLayout;
        }

        boolean legacy() {
            return mode == VirtioMode.LEGACY_ONLY || forceLegacy;
        }

        String tap() {
            return "jvnet" + subnet;
        }

        String hostIp() {
            return "10.77." + subnet + ".1";
        }

        String guestIp() {
            return "10.77." + subnet + ".15";
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void guestPingsTheGatewayAndMovesBulkDataOverATap(Case c) throws Exception {
        Path gatewaySocket = dir.resolve("gw.sock");
        Path tapSocket = dir.resolve("tap.sock");
        if (c.existingTap) {
            HostNet.run("ip", "tuntap", "add", "dev", c.tap(), "mode", "tap", "vnet_hdr");
        }
        String layout = c.anyLayout ? "on" : "off";
        try (JvdpaProcess gateway = JvdpaProcess.net("jvdpa-gw-" + c, gatewaySocket, "--any-layout", layout);
             JvdpaProcess tap = JvdpaProcess.net("jvdpa-tap-" + c, tapSocket, "--network", "tap:" + c.tap(),
                     "--any-layout", layout)) {
            HostNet.run("ip", "addr", "add", c.hostIp() + "/24", "dev", c.tap());
            HostNet.run("ip", "link", "set", c.tap(), "up");
            try (QemuGuest guest = QemuGuest.builder(GuestArch.X86_64).name("net-" + c)
                    .net(VhostUserNet.of(gatewaySocket, c.mode).withMac("52:54:00:12:34:56"))
                    .net(VhostUserNet.of(tapSocket, c.mode).withMac("52:54:00:12:34:57"))
                    .forceLegacy(c.forceLegacy).failOnVhostError(false).start()) {
                QemuWarnings.requireNoVhostErrors(guest);
                checkDriverKind(guest, c);
                pingTheGateway(guest);
                tapTraffic(guest, c);
                QemuWarnings.requireNoVhostErrors(guest);
            }
            Map<String, Long> gw = gateway.stop();
            assertThat(gw.get("echo-replies")).as("gateway counters %s", gw).isGreaterThanOrEqualTo(PINGS);
            assertThat(gw.get("tx-errors")).isZero();
            Map<String, Long> tapCounters = tap.stop();
            assertThat(tapCounters.get("rx-bytes")).as("tap counters %s", tapCounters).isGreaterThanOrEqualTo(BULK);
            assertThat(tapCounters.get("tx-bytes")).isGreaterThanOrEqualTo(BULK);
            assertThat(tapCounters.get("tap-tx-errors")).isZero();
        } finally {
            if (c.existingTap) {
                HostNet.runQuietly("ip", "link", "del", c.tap());
            }
        }
    }

    private static void checkDriverKind(QemuGuest guest, Case c) {
        List<GuestVirtioDevice> nics = guest.virtioDevices().stream()
                .filter(d -> d.deviceId() == GuestVirtioDevice.NET).toList();
        assertThat(nics).hasSize(2);
        for (GuestVirtioDevice nic : nics) {
            assertThat(nic.driverOk()).as("%s", nic).isTrue();
            assertThat(nic.modern()).as("VERSION_1 negotiated on %s", nic).isEqualTo(!c.legacy());
            assertThat(nic.hasFeature(GuestVirtioDevice.RING_PACKED)).isEqualTo(c.mode == VirtioMode.PACKED);
            if (c.legacy()) {
                assertThat(nic.hasFeature(ANY_LAYOUT)).as("ANY_LAYOUT on %s", nic).isEqualTo(c.anyLayout);
            }
        }
    }

    private static void pingTheGateway(QemuGuest guest) {
        guest.execOk("ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0", SHORT);
        String out = guest.execOk("ping -c " + PINGS + " -i 0.01 -W 5 10.0.2.2", TRANSFER);
        assertThat(out).contains(PINGS + " packets transmitted, " + PINGS + " packets received, 0% packet loss");
        // IPv6: the gateway answers neighbour solicitation and echo on its link-local address once the guest's
        // own link-local address has passed duplicate address detection.
        String ping6 = "for i in 1 2 3 4 5 6 7 8 9 10; do ping6 -c 3 -i 0.05 -W 2 -I eth0 " + GATEWAY_IP6
                + " > /tmp/ping6 2>&1 && break; sleep 0.5; done; cat /tmp/ping6";
        assertThat(guest.execOk(ping6, SHORT)).contains("3 packets transmitted, 3 packets received");
    }

    private static void tapTraffic(QemuGuest guest, Case c) throws Exception {
        guest.execOk("ip link set eth1 up && ip addr add " + c.guestIp() + "/24 dev eth1", SHORT);
        String out = guest.execOk("ping -c 20 -i 0.01 -W 5 " + c.hostIp(), SHORT);
        assertThat(out).contains("20 packets transmitted, 20 packets received");
        String fromHost = HostNet.run("busybox", "ping", "-c", "20", "-i", "0.01", "-W", "5", c.guestIp());
        assertThat(fromHost).contains("20 packets transmitted, 20 packets received");

        // Guest to host: the test's listener on the TAP's address hashes what arrives.
        guest.execOk("dd if=/dev/urandom of=/tmp/up bs=1M count=" + (BULK >> 20) + " 2>/dev/null", TRANSFER);
        String upSum = guest.execOk("sha256sum /tmp/up", SHORT).split("\\s+")[0];
        CompletableFuture<HostNet.Received> received = HostNet.receiveOne(c.hostIp(), 5001);
        guest.execOk("nc " + c.hostIp() + " 5001 < /tmp/up", TRANSFER);
        HostNet.Received up = received.get(2, TimeUnit.MINUTES);
        assertThat(up.bytes()).isEqualTo(BULK);
        assertThat(up.sha256()).isEqualTo(upSum);

        // Host to guest: the guest's nc listens and writes a file the guest hashes.
        byte[] down = HostNet.random(BULK, c.subnet);
        guest.execOk("(nc -l -p 5002 > /tmp/down &) ; sleep 0.2", SHORT);
        HostNet.send(c.guestIp(), 5002, down, Duration.ofSeconds(30));
        String guestSum = guest.execOk("while pidof nc > /dev/null; do sleep 0.1; done; sha256sum /tmp/down",
                TRANSFER).split("\\s+")[0];
        assertThat(guestSum).isEqualTo(HostNet.sha256(down));
    }
}

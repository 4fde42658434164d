package io.jvdpa.it.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.net.VirtioNetFeatures;
import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.GuestVirtioDevice;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.VhostUserNet;
import io.jvdpa.testing.VirtioMode;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A real Linux guest on jvdpa's net device, for each way a guest's driver can meet it: a legacy-only device, a
 * transitional device with the driver forced legacy, a modern-only device and a packed-ring device. One guest per
 * case carries two devices: one on the gateway network, one on a host TAP device.
 *
 * <ul>
 *   <li>gateway: 100 pings to the gateway (none lost) and ping6 to its link-local address;</li>
 *   <li>TAP: host and guest ping each other; 16 MiB of random data over TCP in each direction, SHA-256 taken
 *       at both ends.</li>
 *   <li>offloads: the driver of the TAP device negotiates checksum and TCP segmentation offload both ways, and
 *       both transfers use them: jvdpa passes frames with a GSO type to the host kernel and from it, and the host
 *       TAP sends the guest frames longer than the MTU allows, over 1514 bytes on average. The gateway device,
 *       whose network needs whole frames, is offered no segmentation.</li>
 * </ul>
 * The host end of each TAP is moved into a network namespace of the test's own, named per run, so the test
 * leaves the host's network alone.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class NetGuestIT {
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final Duration TRANSFER = Duration.ofMinutes(2);
    private static final int PINGS = 100;
    private static final int BULK = 16 << 20;
    private static final String GATEWAY_IP6 = "fe80::5054:ff:fe12:3502";
    private static final int ANY_LAYOUT = 27;
    private static final long RUN = ProcessHandle.current().pid();
    private static final String GATEWAY_SIDE_MAC = "52:54:00:12:34:56";
    private static final String TAP_SIDE_MAC = "52:54:00:12:34:57";
    /**
     * What the guest's driver takes on a network that carries offloads. Linux's legacy virtio-net acks the same
     * offload bits as its modern one (its legacy feature table is the modern one plus GSO and ANY_LAYOUT), so
     * every case expects them all.
     */
    private static final int[] OFFLOADS = {VirtioNetFeatures.CSUM, VirtioNetFeatures.GUEST_CSUM,
        VirtioNetFeatures.HOST_TSO4, VirtioNetFeatures.HOST_TSO6, VirtioNetFeatures.GUEST_TSO4,
        VirtioNetFeatures.GUEST_TSO6};
    private static final int[] SEGMENTATION = {VirtioNetFeatures.HOST_TSO4, VirtioNetFeatures.HOST_TSO6,
        VirtioNetFeatures.GUEST_TSO4, VirtioNetFeatures.GUEST_TSO6};
    /** The longest frame at the default MTU (1500 and the Ethernet header): without segmentation none is longer. */
    private static final int LONGEST_WHOLE_FRAME = 1514;

    @TempDir
    Path dir;

    enum Case {
        /**
         * A legacy driver as virtio 0.95 knew it: neither ANY_LAYOUT nor mergeable receive buffers (QEMU's
         * {@code mrg_rxbuf=off}). Its virtio-net header is 10 bytes and sits in a descriptor of its own on both
         * paths: Linux's transmit path puts it there without ANY_LAYOUT, and its receive buffers for large frames
         * (GUEST_TSO on the TAP device) always start with a header descriptor.
         */
        LEGACY_ONLY(VirtioMode.LEGACY_ONLY, false, 1, false, false, false),
        TRANSITIONAL_FORCED_LEGACY(VirtioMode.TRANSITIONAL, true, 2, false, true, true),
        MODERN_ONLY(VirtioMode.MODERN_ONLY, false, 3, true, true, true),
        PACKED(VirtioMode.PACKED, false, 4, false, true, true),
        /** A big-endian legacy driver (virtio-net-ccw, revision 0): headers and rings in big-endian order. */
        S390X_LEGACY_BIG_ENDIAN(GuestArch.S390X, VirtioMode.LEGACY_ONLY, 5);

        final GuestArch arch;
        final VirtioMode mode;
        final boolean forceLegacy;
        final int subnet;
        /** The TAP device exists before jvdpa starts (made with ip tuntap), so jvdpa reuses it. */
        final boolean existingTap;
        final boolean anyLayout;
        final boolean mergeable;

        Case(VirtioMode mode, boolean forceLegacy, int subnet, boolean existingTap, boolean anyLayout,
             boolean mergeable) {
            this.arch = GuestArch.X86_64;
            this.mode = mode;
            this.forceLegacy = forceLegacy;
            this.subnet = subnet;
            this.existingTap = existingTap;
            this.anyLayout = anyLayout;
            this.mergeable = mergeable;
        }

        Case(GuestArch arch, VirtioMode mode, int subnet) {
            this.arch = arch;
            this.mode = mode;
            this.forceLegacy = false;
            this.subnet = subnet;
            this.existingTap = false;
            this.anyLayout = true;
            this.mergeable = true;
        }

        /**
         * Two vCPUs for s390x: with one, QEMU's TCG leaves out the guest's memory barriers (it only emits them
         * for parallel vCPUs), so the driver's "enable interrupts, then look at used idx" can be reordered as a
         * back-end in another process sees it, and an EVENT_IDX notification is lost for good: the receive
         * queue stalls under TCP load. QEMU's own virtio-net, in the same thread as the guest, never sees that.
         */
        int cpus() {
            return arch == GuestArch.S390X ? 2 : 1;
        }

        boolean legacy() {
            return mode == VirtioMode.LEGACY_ONLY || forceLegacy;
        }

        /** Names and addresses differ between concurrent runs of this test on one host (by process id). */
        String tap() {
            return "jv" + RUN % 100_000 + "n" + subnet;
        }

        /** Named per run, so a namespace left by a run that was killed cannot collide with this one. */
        String namespace() {
            return "jvdpa-net-" + RUN + "-" + subnet;
        }

        String hostIp() {
            return "10." + (64 + RUN % 64) + "." + subnet + ".1";
        }

        String guestIp() {
            return "10." + (64 + RUN % 64) + "." + subnet + ".15";
        }
    }

    @ParameterizedTest
    @EnumSource(Case.class)
    void guestPingsTheGatewayAndMovesBulkDataOverATap(Case c) throws Exception {
        Path gatewaySocket = dir.resolve("gw.sock");
        Path tapSocket = dir.resolve("tap.sock");
        String ns = c.namespace();
        HostNet.run("ip", "netns", "add", ns);
        if (c.existingTap) {
            HostNet.run("ip", "tuntap", "add", "dev", c.tap(), "mode", "tap", "vnet_hdr");
        }
        String layout = c.anyLayout ? "on" : "off";
        try (JvdpaProcess gateway = JvdpaProcess.net("jvdpa-gw-" + c, gatewaySocket, "--any-layout", layout);
             JvdpaProcess tap = JvdpaProcess.net("jvdpa-tap-" + c, tapSocket, "--network", "tap:" + c.tap(),
                     "--any-layout", layout)) {
            // jvdpa has the TAP open by now; its host end goes into the test's namespace.
            HostNet.run("ip", "link", "set", c.tap(), "netns", ns);
            HostNet.inNamespace(ns, "ip", "addr", "add", c.hostIp() + "/24", "dev", c.tap());
            HostNet.inNamespace(ns, "ip", "link", "set", c.tap(), "up");
            try (QemuGuest guest = QemuGuest.builder(c.arch).name("net-" + c)
                    .net(VhostUserNet.of(gatewaySocket, c.mode).withMac(GATEWAY_SIDE_MAC)
                            .withMergeableRxBuffers(c.mergeable))
                    .net(VhostUserNet.of(tapSocket, c.mode).withMac(TAP_SIDE_MAC).withMergeableRxBuffers(c.mergeable))
                    .forceLegacy(c.forceLegacy).cpus(c.cpus()).failOnVhostError(false).start()) {
                QemuWarnings.requireNoVhostErrors(guest);
                checkDriverKind(guest, c);
                // Probing order, and so eth0/eth1, is not fixed with two vCPUs: find each device by its MAC.
                String gatewayDev = interfaceWithMac(guest, GATEWAY_SIDE_MAC);
                String tapDev = interfaceWithMac(guest, TAP_SIDE_MAC);
                checkOffloads(guest, gatewayDev, tapDev);
                pingTheGateway(guest, gatewayDev);
                tapTraffic(guest, c, tapDev, ns);
                QemuWarnings.requireNoVhostErrors(guest);
            }
            Map<String, Long> gw = gateway.stop();
            assertThat(gw.get("echo-replies")).as("gateway counters %s", gw).isGreaterThanOrEqualTo(PINGS);
            assertThat(gw.get("tx-errors")).isZero();
            Map<String, Long> tapCounters = tap.stop();
            assertThat(tapCounters.get("rx-bytes")).as("tap counters %s", tapCounters).isGreaterThanOrEqualTo(BULK);
            assertThat(tapCounters.get("tx-bytes")).isGreaterThanOrEqualTo(BULK);
            assertThat(tapCounters.get("tap-tx-errors")).isZero();
            // Frames with a GSO type in their header, passed to the TAP from the guest and to the guest from it.
            assertThat(tapCounters.get("tap-tx-gso")).as("segmentation left to the host: %s", tapCounters).isPositive();
            assertThat(tapCounters.get("tap-rx-gso")).as("segmentation left to the guest: %s", tapCounters).isPositive();
        } finally {
            if (c.existingTap) {
                // Still in this namespace if it was never moved; deleting the test's namespace removes it otherwise.
                HostNet.runQuietly("ip", "link", "del", c.tap());
            }
            HostNet.runQuietly("ip", "netns", "del", ns);
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
            assertThat(nic.hasFeature(VirtioNetFeatures.MRG_RXBUF)).as("MRG_RXBUF on %s", nic).isEqualTo(c.mergeable);
            if (c.legacy()) {
                assertThat(nic.hasFeature(ANY_LAYOUT)).as("ANY_LAYOUT on %s", nic).isEqualTo(c.anyLayout);
            }
        }
    }

    /** The negotiated features of the device behind each interface, as its guest driver shows them. */
    private static void checkOffloads(QemuGuest guest, String gatewayDev, String tapDev) {
        GuestVirtioDevice tapNic = virtioDeviceOf(guest, tapDev);
        for (int bit : OFFLOADS) {
            assertThat(tapNic.hasFeature(bit)).as("%s negotiated on the TAP device %s",
                    VirtioNetFeatures.NAMES.get(bit), tapNic).isTrue();
        }
        GuestVirtioDevice gatewayNic = virtioDeviceOf(guest, gatewayDev);
        assertThat(IntStream.of(SEGMENTATION).filter(gatewayNic::hasFeature).mapToObj(VirtioNetFeatures.NAMES::get))
                .as("segmentation offloads on the gateway device %s", gatewayNic).isEmpty();
    }

    private static GuestVirtioDevice virtioDeviceOf(QemuGuest guest, String dev) {
        String name = guest.execOk("basename $(readlink /sys/class/net/" + dev + "/device)", SHORT).trim();
        return guest.virtioDevices().stream().filter(d -> d.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no virtio device " + name + " behind " + dev));
    }

    private static String interfaceWithMac(QemuGuest guest, String mac) {
        String list = guest.execOk("for i in /sys/class/net/*; do echo $(basename $i) $(cat $i/address); done", SHORT);
        return list.lines().map(l -> l.split(" ")).filter(f -> f.length == 2 && f[1].equalsIgnoreCase(mac))
                .map(f -> f[0]).findFirst().orElseThrow(() -> new AssertionError("no interface with " + mac + ":\n" + list));
    }

    private static void pingTheGateway(QemuGuest guest, String dev) {
        guest.execOk("ip link set " + dev + " up && ip addr add 10.0.2.15/24 dev " + dev, SHORT);
        String out = guest.execOk("ping -c " + PINGS + " -i 0.01 -W 5 10.0.2.2", TRANSFER);
        assertThat(out).contains(PINGS + " packets transmitted, " + PINGS + " packets received, 0% packet loss");
        // IPv6: the gateway answers neighbour solicitation and echo on its link-local address once the guest's
        // own link-local address has passed duplicate address detection.
        String ping6 = "for i in 1 2 3 4 5 6 7 8 9 10; do ping6 -c 3 -i 0.05 -W 2 -I " + dev + " " + GATEWAY_IP6
                + " > /tmp/ping6 2>&1 && break; sleep 0.5; done; cat /tmp/ping6";
        assertThat(guest.execOk(ping6, SHORT)).contains("3 packets transmitted, 3 packets received");
    }

    private void tapTraffic(QemuGuest guest, Case c, String dev, String ns) throws Exception {
        guest.execOk("ip link set " + dev + " up && ip addr add " + c.guestIp() + "/24 dev " + dev, SHORT);
        String out = guest.execOk("ping -c 20 -i 0.01 -W 5 " + c.hostIp(), SHORT);
        assertThat(out).contains("20 packets transmitted, 20 packets received");
        String fromHost = HostNet.inNamespace(ns, "busybox", "ping", "-c", "20", "-i", "0.01", "-W", "5", c.guestIp());
        assertThat(fromHost).contains("20 packets transmitted, 20 packets received");

        // Guest to host: a listener in the namespace writes what arrives to a file the test hashes.
        guest.execOk("dd if=/dev/urandom of=/tmp/up bs=1M count=" + (BULK >> 20) + " 2>/dev/null", TRANSFER);
        String upSum = guest.execOk("sha256sum /tmp/up", SHORT).split("\\s+")[0];
        Path upFile = dir.resolve("up");
        Process listener = new ProcessBuilder("ip", "netns", "exec", ns, "busybox", "nc", "-l", "-p", "5001")
                .redirectOutput(upFile.toFile()).redirectError(Redirect.DISCARD).start();
        try {
            guest.execOk("for i in 1 2 3 4 5 6 7 8 9 10; do nc " + c.hostIp() + " 5001 < /tmp/up && break; sleep 0.3; done",
                    TRANSFER);
            assertThat(listener.waitFor(60, TimeUnit.SECONDS)).as("host listener finished").isTrue();
        } finally {
            listener.destroyForcibly();
        }
        byte[] up = Files.readAllBytes(upFile);
        assertThat(up.length).isEqualTo(BULK);
        assertThat(HostNet.sha256(up)).isEqualTo(upSum);

        // Host to guest: the guest's nc listens and writes a file the guest hashes. Its stdin stays open: at EOF
        // busybox nc half-closes, and the sender would stop early.
        byte[] down = HostNet.random(BULK, c.subnet);
        Path downFile = dir.resolve("down");
        Files.write(downFile, down);
        guest.execOk("(sleep 600 | nc -l -p 5002 > /tmp/down &) ; sleep 0.2", SHORT);
        TapStats beforeDown = TapStats.of(c, ns);
        HostNet.inNamespace(ns, "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do busybox nc " + c.guestIp()
                + " 5002 < " + downFile + " && break; sleep 0.3; done");
        String guestSum = guest.execOk("while pidof nc > /dev/null; do sleep 0.1; done; sha256sum /tmp/down",
                TRANSFER).split("\\s+")[0];
        assertThat(guestSum).isEqualTo(HostNet.sha256(down));
        // The host TAP counts a frame its kernel left to the guest to segment as one, with all its bytes. The
        // same average the other way would judge the guest's writes more than its offloads: an emulated guest
        // (s390x) sends most of its data in frames under one MSS, TSO or not; jvdpa's tap-tx-gso covers that way.
        assertThat(TapStats.of(c, ns).txBytesPerFrameSince(beforeDown)).as("bytes per frame the host sent")
                .isGreaterThan(LONGEST_WHOLE_FRAME);
    }

    /** The host TAP's own counters of what it sent towards the guest. */
    private record TapStats(long txBytes, long txPackets) {
        static TapStats of(Case c, String ns) {
            String dir = "/sys/class/net/" + c.tap() + "/statistics/";
            String[] v = HostNet.inNamespace(ns, "cat", dir + "tx_bytes", dir + "tx_packets").trim().split("\\s+");
            return new TapStats(Long.parseLong(v[0]), Long.parseLong(v[1]));
        }

        long txBytesPerFrameSince(TapStats before) {
            return (txBytes - before.txBytes) / Math.max(1, txPackets - before.txPackets);
        }
    }
}

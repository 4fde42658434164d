package io.jvdpa.net;

import static io.jvdpa.net.NetTestDriver.VERSION_1;
import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.device.DeviceProfile;
import io.jvdpa.memory.Endianness;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A TAP device made by the test, with the host kernel on the other side: the guest's ARP request and ping reach
 * the host's stack and its answers come back, for a modern and a legacy big-endian driver, with one queue pair
 * and with two (IFF_MULTI_QUEUE, one TAP queue per pair).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TapNetworkTest {
    private static void ip(String... args) throws Exception {
        String[] command = new String[args.length + 1];
        command[0] = "ip";
        System.arraycopy(args, 0, command, 1, args.length);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("ip %s: %s", String.join(" ", args), out).isZero();
    }

    /** The next frame on any of the driver's pairs. */
    private static NetTestDriver.Received next(NetTestDriver d, int pairs) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < deadline) {
            for (int p = 0; p < pairs; p++) {
                NetTestDriver.Received r = d.poll(p, Duration.ofMillis(10));
                if (r != null) {
                    return r;
                }
            }
        }
        throw new AssertionError("nothing came back from the host within 5 s");
    }

    /** The next frame of {@code etherType}, skipping what else the host sends (IPv6 router solicitations...). */
    private static NetTestDriver.Received next(NetTestDriver d, int pairs, int etherType) throws Exception {
        while (true) {
            NetTestDriver.Received r = next(d, pairs);
            if (Frames.u16(r.frame(), 12) == etherType) {
                return r;
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}, {2} pair(s)")
    @CsvSource({"modern, LITTLE, 1, 1", "legacy, BIG, 1, 2", "modern, LITTLE, 2, 3"})
    void theHostAnswersArpAndPingThroughTheTap(String kind, Endianness order, int pairs, int subnet) throws Exception {
        String name = "jvut" + ProcessHandle.current().pid() % 100000 + "x" + subnet;
        // Addresses differ between concurrent runs on one host (by process id), like the interface names.
        int hostIp = 0x0A_00_00_01 | (int) ((128 + ProcessHandle.current().pid() % 64) << 16) | (subnet << 8);
        int guestIp = hostIp + 14;
        long features = (kind.equals("modern") ? VERSION_1 : 0) | VirtioNetFeatures.bits(VirtioNetFeatures.MQ,
                VirtioNetFeatures.MRG_RXBUF, VirtioNetFeatures.CSUM, VirtioNetFeatures.GUEST_CSUM,
                VirtioNetFeatures.GUEST_TSO4, VirtioNetFeatures.HOST_TSO4);
        TapNetwork tap = new TapNetwork(name, pairs);
        try (DeviceFixture f = new DeviceFixture("net0", NetDeviceConfig.defaults("net0").withQueuePairs(pairs), tap,
                DeviceProfile.DEFAULT, pairs);
             NetTestDriver d = NetTestDriver.start(f.socket(), features, order, pairs)) {
            assertThat(tap.interfaceName()).isEqualTo(name);
            ip("addr", "add", Ipv4Prefix.format(hostIp) + "/24", "dev", name);
            for (int p = 0; p < pairs; p++) {
                d.postRx(p, 32, 2048, false);
            }
            d.send(0, Frames.arpRequest(Frames.GUEST_MAC, guestIp, hostIp));
            NetTestDriver.Received arp = next(d, pairs, 0x0806);
            long hostMac = Frames.mac(arp.frame(), 22);
            assertThat(Frames.u16(arp.frame(), 20)).as("ARP reply").isEqualTo(2);
            assertThat(Frames.u32(arp.frame(), 28)).isEqualTo(hostIp);

            for (int seq = 0; seq < 10; seq++) {
                d.send(seq % pairs, Frames.ping(Frames.GUEST_MAC, hostMac, guestIp, hostIp, seq, 1000));
                NetTestDriver.Received echo = next(d, pairs, 0x0800);
                assertThat(echo.frame()[34]).as("echo reply").isEqualTo((byte) 0);
                assertThat(Frames.u16(echo.frame(), 40)).isEqualTo(seq);
                assertThat(Frames.checksum(echo.frame(), 34, echo.frame().length - 34, 0)).isZero();
            }
            assertThat(tap.attachedQueues()).isEqualTo(pairs);
            if (pairs > 1) {
                // The driver stops using the second pair: whatever the kernel steered there moves to the first.
                d.session.frontend().setVringEnable(2, false);
                for (int seq = 10; seq < 30; seq++) {
                    d.send(0, Frames.ping(Frames.GUEST_MAC, hostMac, guestIp, hostIp, seq, 100));
                    NetTestDriver.Received echo = next(d, 1, 0x0800);
                    assertThat(Frames.u16(echo.frame(), 40)).isEqualTo(seq);
                }
            }
            assertThat(tap.counters()).contains("tap-tx-errors=0");
        }
    }

    /**
     * UFO through the TAP: a driver that acked HOST_UFO sends a UDP datagram longer than the MTU in one frame, its
     * header saying GSO_UDP with the checksum left partial; jvdpa hands it to the kernel with that GSO type, and a
     * host socket receives the whole datagram. (The other way, GUEST_UFO, the kernel has sent
     * nothing since Linux 4.14, which took UFO out of its stack and only accepts such frames from a TAP.)
     */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"modern, LITTLE, 4", "legacy, BIG, 5"})
    void aDatagramLeftToTheHostToFragmentArrivesWhole(String kind, Endianness order, int subnet) throws Exception {
        String name = "jvut" + ProcessHandle.current().pid() % 100000 + "x" + subnet;
        int hostIp = 0x0A_00_00_01 | (int) ((128 + ProcessHandle.current().pid() % 64) << 16) | (subnet << 8);
        int guestIp = hostIp + 14;
        long features = (kind.equals("modern") ? VERSION_1 : 0) | VirtioNetFeatures.bits(VirtioNetFeatures.MRG_RXBUF,
                VirtioNetFeatures.CSUM, VirtioNetFeatures.GUEST_CSUM, VirtioNetFeatures.HOST_UFO);
        TapNetwork tap = new TapNetwork(name, 1);
        try (DeviceFixture f = new DeviceFixture(tap, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), features, order, 1)) {
            assertThat(d.has(VirtioNetFeatures.HOST_UFO)).as("HOST_UFO acked").isTrue();
            ip("addr", "add", Ipv4Prefix.format(hostIp) + "/24", "dev", name);
            ip("link", "set", name, "up");
            try (java.net.DatagramSocket host = new java.net.DatagramSocket(
                    new java.net.InetSocketAddress(Ipv4Prefix.format(hostIp), 6000))) {
                host.setSoTimeout(5000);
                d.postRx(0, 32, 2048, false);
                // The host learns the guest's MAC from its ARP request, so its answers (if any) have somewhere to go.
                d.send(0, Frames.arpRequest(Frames.GUEST_MAC, guestIp, hostIp));
                long hostMac = Frames.mac(next(d, 1, 0x0806).frame(), 22);
                byte[] data = Frames.payload(3000, 7);
                byte[] frame = Frames.udpPartial(Frames.GUEST_MAC, hostMac, guestIp, hostIp, data);
                // csum_start at the UDP header (14 + 20), csum_offset 6; gso_size one MTU's worth of payload.
                d.send(0, d.header(NetHeader.F_NEEDS_CSUM, NetHeader.GSO_UDP, 42, 1472, 34, 6), frame, false);

                java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[4096], 4096);
                host.receive(p);
                assertThat(java.util.Arrays.copyOf(p.getData(), p.getLength())).isEqualTo(data);
            }
            assertThat(tap.counters()).contains("tap-tx-gso=1").contains("tap-tx-errors=0");
        }
    }
}

package io.jvdpa.net;

import static io.jvdpa.net.NetTestDriver.VERSION_1;
import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.device.DeviceProfile;
import io.jvdpa.device.Worker;
import io.jvdpa.memory.Endianness;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The embedded gateway host: its answers, byte by byte, and through a real device and driver. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GatewayNetworkTest {
    private static final long GW_MAC = GatewayNetwork.DEFAULT_MAC;

    /** A guest side that keeps what the network sends it. */
    private static final class Collector implements GuestPort, GuestRx {
        final List<byte[]> frames = new ArrayList<>();
        final List<Integer> flags = new ArrayList<>();

        @Override public long ackedFeatures() { return 0; }
        @Override public long mac() { return Frames.GUEST_MAC; }
        @Override public int queuePairs() { return 1; }
        @Override public GuestRx rx(int pair) { return this; }
        @Override public int pickPair(int hash) { return 0; }
        @Override public Worker worker() { return null; }
        @Override public boolean running() { return true; }
        @Override public boolean deliver(Packet frame) { return send(frame); }
        @Override public boolean post(Packet frame) { return send(frame); }
        @Override public void flush() {}

        @Override
        public boolean send(Packet frame) {
            frames.add(frame.toArray());
            flags.add(frame.flags());
            return true;
        }
    }

    private static Packet packet(byte[] frame) {
        Packet p = Packet.allocate(frame.length);
        p.reset(0, frame.length);
        java.lang.foreign.MemorySegment.copy(frame, 0, p.segment(), java.lang.foreign.ValueLayout.JAVA_BYTE, 0,
                frame.length);
        return p;
    }

    private static Collector attached(GatewayNetwork gw) {
        Collector c = new Collector();
        gw.attach(c);
        return c;
    }

    @Test
    void answersArpForItsAddressOnly() {
        GatewayNetwork gw = new GatewayNetwork();
        Collector c = attached(gw);
        gw.transmit(0, packet(Frames.arpRequest(Frames.GUEST_MAC, Frames.GUEST_IP, 0x0A_00_02_03)));
        assertThat(c.frames).as("ARP for another address").isEmpty();
        gw.transmit(0, packet(Frames.arpRequest(Frames.GUEST_MAC, Frames.GUEST_IP, Frames.GATEWAY_IP)));
        assertThat(c.frames).hasSize(1);
        byte[] r = c.frames.getFirst();
        assertThat(Frames.mac(r, 0)).isEqualTo(Frames.GUEST_MAC);
        assertThat(Frames.mac(r, 6)).isEqualTo(GW_MAC);
        assertThat(Frames.u16(r, 12)).isEqualTo(0x0806);
        assertThat(Frames.u16(r, 20)).as("operation: reply").isEqualTo(2);
        assertThat(Frames.mac(r, 22)).isEqualTo(GW_MAC);
        assertThat(Frames.u32(r, 28)).isEqualTo(Frames.GATEWAY_IP);
        assertThat(Frames.mac(r, 32)).isEqualTo(Frames.GUEST_MAC);
        assertThat(Frames.u32(r, 38)).isEqualTo(Frames.GUEST_IP);
        assertThat(gw.arpReplies()).isEqualTo(1);
    }

    @Test
    void answersPingsWithValidChecksumsAndTheSamePayload() {
        GatewayNetwork gw = new GatewayNetwork();
        Collector c = attached(gw);
        byte[] ping = Frames.ping(Frames.GUEST_MAC, GW_MAC, Frames.GUEST_IP, Frames.GATEWAY_IP, 7, 56);
        gw.transmit(0, packet(ping));
        assertThat(c.frames).hasSize(1);
        byte[] r = c.frames.getFirst();
        assertThat(r).hasSize(ping.length);
        assertThat(Frames.mac(r, 0)).isEqualTo(Frames.GUEST_MAC);
        assertThat(Frames.mac(r, 6)).isEqualTo(GW_MAC);
        assertThat(Frames.u32(r, 26)).isEqualTo(Frames.GATEWAY_IP);
        assertThat(Frames.u32(r, 30)).isEqualTo(Frames.GUEST_IP);
        assertThat(Frames.checksum(r, 14, 20, 0)).as("IP header checksum").isZero();
        assertThat(r[34]).as("echo reply").isEqualTo((byte) 0);
        assertThat(Frames.checksum(r, 34, r.length - 34, 0)).as("ICMP checksum").isZero();
        assertThat(Arrays.copyOfRange(r, 38, r.length)).as("id, sequence and data")
                .isEqualTo(Arrays.copyOfRange(ping, 38, ping.length));
        assertThat(c.flags.getFirst()).isEqualTo(NetHeader.F_DATA_VALID);
    }

    @Test
    void ignoresWhatIsNotForIt() {
        GatewayNetwork gw = new GatewayNetwork();
        Collector c = attached(gw);
        gw.transmit(0, packet(Frames.ping(Frames.GUEST_MAC, GW_MAC, Frames.GUEST_IP, 0x0A_00_02_09, 1, 56)));
        byte[] badChecksum = Frames.ping(Frames.GUEST_MAC, GW_MAC, Frames.GUEST_IP, Frames.GATEWAY_IP, 1, 56);
        badChecksum[40] ^= 1;
        gw.transmit(0, packet(badChecksum));
        byte[] fragment = Frames.ethernet(GW_MAC, Frames.GUEST_MAC, 0x0800, Frames.ipv4(1, Frames.GUEST_IP,
                Frames.GATEWAY_IP, Frames.icmpEcho(8, 1, 1, Frames.payload(20, 0)), 0x2000));
        gw.transmit(0, packet(fragment));
        byte[] truncated = Arrays.copyOf(Frames.ping(Frames.GUEST_MAC, GW_MAC, Frames.GUEST_IP, Frames.GATEWAY_IP, 1, 56), 50);
        gw.transmit(0, packet(truncated));
        gw.transmit(0, packet(new byte[] {1, 2, 3}));
        assertThat(c.frames).isEmpty();
    }

    @Test
    void answersNeighbourSolicitationAndIpv6Echo() {
        GatewayNetwork gw = new GatewayNetwork();
        Collector c = attached(gw);
        byte[] guestIp6 = Frames.linkLocal(Frames.GUEST_MAC);
        byte[] gwIp6 = Frames.linkLocal(GW_MAC);
        assertThat(gw.ipv6LinkLocal()).isEqualTo("fe80::5054:ff:fe12:3502");
        gw.transmit(0, packet(Frames.neighborSolicitation(Frames.GUEST_MAC, guestIp6, gwIp6)));
        assertThat(c.frames).hasSize(1);
        byte[] na = c.frames.getFirst();
        byte[] ip6 = Arrays.copyOfRange(na, 14, na.length);
        assertThat(Frames.mac(na, 0)).isEqualTo(Frames.GUEST_MAC);
        assertThat(ip6[7]).as("hop limit").isEqualTo((byte) 255);
        assertThat(ip6[40] & 0xFF).as("neighbour advertisement").isEqualTo(136);
        assertThat(Frames.icmpv6Checksum(ip6)).isZero();
        assertThat(Arrays.copyOfRange(ip6, 48, 64)).as("target").isEqualTo(gwIp6);
        assertThat(Arrays.copyOfRange(ip6, 24, 40)).as("to the guest").isEqualTo(guestIp6);
        assertThat(Frames.mac(ip6, 66)).as("target link-layer address").isEqualTo(GW_MAC);

        byte[] echo = new byte[] {(byte) 128, 0, 0, 0, 0x12, 0x34, 0, 1, 'h', 'e', 'l', 'l', 'o'};
        gw.transmit(0, packet(Frames.icmpv6(Frames.GUEST_MAC, GW_MAC, guestIp6, gwIp6, 64, echo)));
        assertThat(c.frames).hasSize(2);
        byte[] reply = Arrays.copyOfRange(c.frames.get(1), 14, 14 + 40 + echo.length);
        assertThat(reply[40] & 0xFF).isEqualTo(129);
        assertThat(Frames.icmpv6Checksum(reply)).isZero();
        assertThat(Arrays.copyOfRange(reply, 8, 24)).isEqualTo(gwIp6);
        assertThat(Arrays.copyOfRange(reply, 24, 40)).isEqualTo(guestIp6);
        assertThat(Arrays.copyOfRange(reply, 44, 53)).isEqualTo(Arrays.copyOfRange(echo, 4, 13));
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"modern, LITTLE", "legacy, BIG"})
    void aGuestPingsTheGatewayThroughTheDevice(String kind, Endianness order) throws Exception {
        GatewayNetwork gw = new GatewayNetwork();
        long transport = kind.equals("modern") ? VERSION_1 | NetTestDriver.RING_PACKED : 0;
        long f = VirtioNetFeatures.bits(VirtioNetFeatures.MRG_RXBUF, VirtioNetFeatures.GUEST_CSUM);
        DeviceProfile profile = DeviceProfile.DEFAULT.withAnyLayout(false);
        try (DeviceFixture fx = new DeviceFixture(gw, profile);
             NetTestDriver d = NetTestDriver.start(fx.socket(), transport | f, order, 1)) {
            d.postRx(0, 8, 2048, kind.equals("legacy"));
            d.send(0, d.header(0, 0, 0, 0, 0, 0), Frames.arpRequest(Frames.GUEST_MAC, Frames.GUEST_IP,
                    Frames.GATEWAY_IP), kind.equals("legacy"));
            NetTestDriver.Received arp = d.receive(0);
            assertThat(Frames.mac(arp.frame(), 22)).isEqualTo(GW_MAC);
            for (int seq = 0; seq < 20; seq++) {
                d.send(0, d.header(0, 0, 0, 0, 0, 0),
                        Frames.ping(Frames.GUEST_MAC, GW_MAC, Frames.GUEST_IP, Frames.GATEWAY_IP, seq, 56), true);
                NetTestDriver.Received r = d.receive(0);
                assertThat(r.flags()).isEqualTo(NetHeader.F_DATA_VALID);
                assertThat(Frames.u16(r.frame(), 40)).as("sequence").isEqualTo(seq);
                d.postRx(0, 1, 2048, kind.equals("legacy"));
            }
            assertThat(gw.echoReplies()).isEqualTo(20);
            assertThat(fx.device.counters().rxFrames()).isEqualTo(21);
        }
    }
}

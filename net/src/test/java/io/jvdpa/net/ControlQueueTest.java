package io.jvdpa.net;

import static io.jvdpa.net.NetTestDriver.VERSION_1;
import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.device.DeviceProfile;
import io.jvdpa.memory.Endianness;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Control queue commands from a driver, and what they do to the frames the guest receives. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ControlQueueTest {
    private static final long OTHER = 0x02_00_00_00_00_77L;
    private static final long CTRL = VirtioNetFeatures.bits(VirtioNetFeatures.CTRL_VQ, VirtioNetFeatures.CTRL_RX,
            VirtioNetFeatures.CTRL_RX_EXTRA, VirtioNetFeatures.CTRL_VLAN, VirtioNetFeatures.CTRL_MAC_ADDR,
            VirtioNetFeatures.GUEST_ANNOUNCE, VirtioNetFeatures.MQ, VirtioNetFeatures.MAC, VirtioNetFeatures.STATUS);
    private static final long DEVICE_MAC = NetDeviceConfig.DEFAULT_MAC;

    private static byte[] frameTo(long dst, int seq) {
        return Frames.ethernet(dst, OTHER, 0x88B5, Frames.payload(40, seq));
    }

    /** Sends the guest {@code frame} and says whether it arrived. */
    private static boolean delivered(CapturingNetwork net, NetTestDriver d, byte[] frame) throws Exception {
        net.toGuest(0, frame);
        NetTestDriver.Received r = d.poll(0, Duration.ofMillis(300));
        if (r == null) {
            return false;
        }
        assertThat(r.frame()).isEqualTo(frame);
        return true;
    }

    private static byte[] table(NetTestDriver d, long... macs) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(d.u32(macs.length));
        for (long m : macs) {
            b.writeBytes(MacAddress.toBytes(m));
        }
        return b.toByteArray();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"modern, LITTLE", "legacy, LITTLE", "legacy, BIG"})
    void receiveFilterFollowsTheCommands(String kind, Endianness order) throws Exception {
        CapturingNetwork net = new CapturingNetwork(false);
        NetDeviceConfig config = NetDeviceConfig.defaults("net0").withQueuePairs(2);
        long transport = kind.equals("modern") ? VERSION_1 : NetTestDriver.ANY_LAYOUT;
        try (DeviceFixture f = new DeviceFixture("net0", config, net, DeviceProfile.DEFAULT, 1);
             NetTestDriver d = NetTestDriver.start(f.socket(), transport | CTRL, order, 1)) {
            d.postRx(0, 64, 2048, false);
            long multicast = 0x01_00_5e_00_00_fbL;
            // Promiscuous at first, as QEMU's device starts.
            assertThat(delivered(net, d, frameTo(OTHER, 1))).isTrue();

            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_PROMISC, new byte[] {0})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(0x02_00_00_00_00_99L, 2))).as("unknown unicast").isFalse();
            assertThat(delivered(net, d, frameTo(DEVICE_MAC, 3))).as("own MAC").isTrue();
            assertThat(delivered(net, d, frameTo(MacAddress.BROADCAST, 4))).as("broadcast").isTrue();
            assertThat(delivered(net, d, frameTo(multicast, 5))).as("multicast not in table").isFalse();

            // Tables: u32 entries in the driver's order, then the addresses.
            byte[] tables = concat(table(d, 0x02_00_00_00_00_99L), table(d, multicast));
            assertThat(d.control(ControlQueue.CLASS_MAC, ControlQueue.MAC_TABLE_SET, tables)).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(0x02_00_00_00_00_99L, 6))).as("unicast in table").isTrue();
            assertThat(delivered(net, d, frameTo(multicast, 7))).as("multicast in table").isTrue();
            assertThat(delivered(net, d, frameTo(0x01_00_5e_00_00_01L, 8))).as("other multicast").isFalse();
            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_ALLMULTI, new byte[] {1})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(0x01_00_5e_00_00_01L, 9))).as("allmulti").isTrue();
            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_NOBCAST, new byte[] {1})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(MacAddress.BROADCAST, 10))).as("nobcast").isFalse();

            // A table that claims more entries than the buffer holds is refused and changes nothing.
            byte[] lying = concat(d.u32(1000), MacAddress.toBytes(OTHER));
            assertThat(d.control(ControlQueue.CLASS_MAC, ControlQueue.MAC_TABLE_SET, lying)).isEqualTo(ControlQueue.ERR);
            assertThat(delivered(net, d, frameTo(0x02_00_00_00_00_99L, 11))).isTrue();

            // VLAN filtering: a tagged frame passes only once its VLAN is added.
            byte[] tagged = Frames.ethernet(DEVICE_MAC, OTHER, 0x8100,
                    concat(new byte[] {0x00, 0x05, (byte) 0x88, (byte) 0xB5}, Frames.payload(40, 12)));
            assertThat(delivered(net, d, tagged)).as("VLAN 5 not added").isFalse();
            assertThat(d.control(ControlQueue.CLASS_VLAN, ControlQueue.VLAN_ADD, d.u16(5))).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, tagged)).as("VLAN 5 added").isTrue();
            assertThat(d.control(ControlQueue.CLASS_VLAN, ControlQueue.VLAN_DEL, d.u16(5))).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, tagged)).as("VLAN 5 removed").isFalse();
            assertThat(d.control(ControlQueue.CLASS_VLAN, ControlQueue.VLAN_ADD, d.u16(4096))).isEqualTo(ControlQueue.ERR);

            // A new MAC address: frames to it are the guest's, and config space shows it.
            long newMac = 0x02_12_34_56_78_9aL;
            assertThat(d.control(ControlQueue.CLASS_MAC, ControlQueue.MAC_ADDR_SET, MacAddress.toBytes(newMac)))
                    .isEqualTo(ControlQueue.OK);
            assertThat(MacAddress.get(MemorySegment.ofArray(d.config()), 0)).isEqualTo(newMac);
            assertThat(delivered(net, d, frameTo(newMac, 13))).isTrue();
            assertThat(d.control(ControlQueue.CLASS_MAC, ControlQueue.MAC_ADDR_SET, MacAddress.toBytes(0x01_00_00_00_00_01L)))
                    .as("a multicast MAC").isEqualTo(ControlQueue.ERR);
        }
    }

    /** The CTRL_RX_EXTRA modes: ALLUNI opens unicast, NOUNI and NOMULTI close their kind over everything else. */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"modern, LITTLE", "legacy, BIG"})
    void extraReceiveModesFollowTheCommands(String kind, Endianness order) throws Exception {
        CapturingNetwork net = new CapturingNetwork(false);
        long transport = kind.equals("modern") ? VERSION_1 : NetTestDriver.ANY_LAYOUT;
        try (DeviceFixture f = new DeviceFixture(net, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), transport | CTRL, order, 1)) {
            d.postRx(0, 64, 2048, false);
            long unknown = 0x02_00_00_00_00_99L;
            long multicast = 0x01_00_5e_00_00_fbL;
            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_PROMISC, new byte[] {0})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(unknown, 1))).as("unknown unicast").isFalse();

            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_ALLUNI, new byte[] {1})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(unknown, 2))).as("alluni: unknown unicast").isTrue();
            assertThat(delivered(net, d, frameTo(multicast, 3))).as("alluni: multicast not in table").isFalse();
            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_ALLUNI, new byte[] {0})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(unknown, 4))).as("alluni off").isFalse();

            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_NOUNI, new byte[] {1})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(DEVICE_MAC, 5))).as("nouni: own MAC").isFalse();
            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_ALLUNI, new byte[] {1})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(unknown, 6))).as("nouni over alluni").isFalse();
            assertThat(delivered(net, d, frameTo(MacAddress.BROADCAST, 7))).as("nouni: broadcast").isTrue();
            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_NOUNI, new byte[] {0})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(unknown, 8))).as("nouni off, alluni on").isTrue();
            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_ALLUNI, new byte[] {0})).isEqualTo(ControlQueue.OK);

            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_ALLMULTI, new byte[] {1})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(multicast, 9))).as("allmulti").isTrue();
            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_NOMULTI, new byte[] {1})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(multicast, 10))).as("nomulti over allmulti").isFalse();
            assertThat(delivered(net, d, frameTo(MacAddress.BROADCAST, 11))).as("nomulti: broadcast").isTrue();
            assertThat(delivered(net, d, frameTo(DEVICE_MAC, 12))).as("nomulti: own MAC").isTrue();
            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_NOMULTI, new byte[] {0})).isEqualTo(ControlQueue.OK);
            assertThat(delivered(net, d, frameTo(multicast, 13))).as("nomulti off").isTrue();
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"modern, LITTLE", "legacy, BIG"})
    void queuePairsAnnounceAndBadCommands(String kind, Endianness order) throws Exception {
        NetDeviceConfig config = NetDeviceConfig.defaults("net0").withQueuePairs(4);
        long transport = kind.equals("modern") ? VERSION_1 : NetTestDriver.ANY_LAYOUT;
        try (DeviceFixture f = new DeviceFixture("net0", config, new SinkNetwork(), DeviceProfile.DEFAULT, 2);
             NetTestDriver d = NetTestDriver.start(f.socket(), transport | CTRL, order, 4)) {
            assertThat(f.device.activePairs()).as("one pair until the driver asks for more").isEqualTo(1);
            assertThat(d.control(ControlQueue.CLASS_MQ, ControlQueue.MQ_VQ_PAIRS_SET, d.u16(3))).isEqualTo(ControlQueue.OK);
            assertThat(f.device.activePairs()).isEqualTo(3);
            assertThat(d.control(ControlQueue.CLASS_MQ, ControlQueue.MQ_VQ_PAIRS_SET, d.u16(0))).isEqualTo(ControlQueue.ERR);
            assertThat(d.control(ControlQueue.CLASS_MQ, ControlQueue.MQ_VQ_PAIRS_SET, d.u16(5))).isEqualTo(ControlQueue.ERR);
            assertThat(f.device.activePairs()).isEqualTo(3);

            assertThat(f.device.announce()).isTrue();
            assertThat(d.order.u16(MemorySegment.ofArray(d.config()), 6)).isEqualTo(NetConfigSpace.S_LINK_UP
                    | NetConfigSpace.S_ANNOUNCE);
            assertThat(d.control(ControlQueue.CLASS_ANNOUNCE, ControlQueue.ANNOUNCE_ACK, new byte[0])).isEqualTo(ControlQueue.OK);
            assertThat(d.order.u16(MemorySegment.ofArray(d.config()), 6)).isEqualTo(NetConfigSpace.S_LINK_UP);

            assertThat(d.control(9, 0, new byte[0])).as("unknown class").isEqualTo(ControlQueue.ERR);
            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_PROMISC, new byte[0])).as("no data").isEqualTo(ControlQueue.ERR);
            assertThat(d.control(ControlQueue.CLASS_RX, 42, new byte[] {1})).as("unknown command").isEqualTo(ControlQueue.ERR);
        }
    }

    @Test
    void commandsTheDriverDidNotNegotiateAreRefused() throws Exception {
        long onlyCtrl = VirtioNetFeatures.bits(VirtioNetFeatures.CTRL_VQ);
        try (DeviceFixture f = new DeviceFixture(new SinkNetwork(), DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), VERSION_1 | onlyCtrl, Endianness.LITTLE, 1)) {
            assertThat(d.control(ControlQueue.CLASS_RX, ControlQueue.RX_PROMISC, new byte[] {0})).isEqualTo(ControlQueue.ERR);
            assertThat(d.control(ControlQueue.CLASS_VLAN, ControlQueue.VLAN_ADD, d.u16(1))).isEqualTo(ControlQueue.ERR);
            assertThat(d.control(ControlQueue.CLASS_MQ, ControlQueue.MQ_VQ_PAIRS_SET, d.u16(1))).isEqualTo(ControlQueue.ERR);
            assertThat(d.control(ControlQueue.CLASS_ANNOUNCE, ControlQueue.ANNOUNCE_ACK, new byte[0])).isEqualTo(ControlQueue.ERR);
            assertThat(d.control(ControlQueue.CLASS_MAC, ControlQueue.MAC_ADDR_SET, new byte[6])).isEqualTo(ControlQueue.ERR);
            assertThat(f.device.announce()).as("no GUEST_ANNOUNCE").isFalse();
        }
    }
}

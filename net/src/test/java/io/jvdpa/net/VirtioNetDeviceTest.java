package io.jvdpa.net;

import static io.jvdpa.net.NetTestDriver.ANY_LAYOUT;
import static io.jvdpa.net.NetTestDriver.EVENT_IDX;
import static io.jvdpa.net.NetTestDriver.INDIRECT;
import static io.jvdpa.net.NetTestDriver.RING_PACKED;
import static io.jvdpa.net.NetTestDriver.VERSION_1;
import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.device.DeviceProfile;
import io.jvdpa.device.VirtioFeatures;
import io.jvdpa.memory.Endianness;
import io.jvdpa.vhostuser.Frontend;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The net device against jvdpa's own front-end over a real socket, for every kind of driver it serves. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VirtioNetDeviceTest {
    /** The drivers a transitional device meets; "framing" ones put the header in a descriptor of its own. */
    enum Kind {
        MODERN_SPLIT(VERSION_1, Endianness.LITTLE, false),
        MODERN_PACKED(VERSION_1 | RING_PACKED, Endianness.LITTLE, false),
        LEGACY_LE_ANY_LAYOUT(ANY_LAYOUT, Endianness.LITTLE, false),
        LEGACY_LE_FRAMING(0, Endianness.LITTLE, true),
        LEGACY_BE_ANY_LAYOUT(ANY_LAYOUT, Endianness.BIG, false),
        LEGACY_BE_FRAMING(0, Endianness.BIG, true);

        final long transport;
        final Endianness order;
        final boolean splitHeader;

        Kind(long transport, Endianness order, boolean splitHeader) {
            this.transport = transport | EVENT_IDX | INDIRECT;
            this.order = order;
            this.splitHeader = splitHeader;
        }

        /** The profile that makes the device offer ANY_LAYOUT only to drivers meant to use it. */
        DeviceProfile profile() {
            return DeviceProfile.DEFAULT.withAnyLayout(!splitHeader);
        }
    }

    private static long bits(int... features) {
        return VirtioNetFeatures.bits(features);
    }

    private static final long CSUM_AND_TSO = bits(VirtioNetFeatures.CSUM, VirtioNetFeatures.GUEST_CSUM,
            VirtioNetFeatures.HOST_TSO4, VirtioNetFeatures.GUEST_TSO4, VirtioNetFeatures.MAC, VirtioNetFeatures.STATUS);

    @ParameterizedTest
    @EnumSource(Kind.class)
    void transmitHeaderFieldsAreReadInTheDriversByteOrder(Kind kind) throws Exception {
        CapturingNetwork net = new CapturingNetwork(true);
        try (DeviceFixture f = new DeviceFixture(net, kind.profile());
             NetTestDriver d = NetTestDriver.start(f.socket(), kind.transport | CSUM_AND_TSO, kind.order, 1)) {
            assertThat(d.session.legacy()).isEqualTo((kind.transport & VERSION_1) == 0);
            assertThat(d.hdrSize).isEqualTo(d.session.legacy() ? 10 : 12);
            byte[] frame = Frames.ethernet(MacAddress.BROADCAST, Frames.GUEST_MAC, 0x0800, Frames.payload(3000, 1));
            // Values whose two bytes differ, so a swapped field shows.
            d.send(0, d.header(NetHeader.F_NEEDS_CSUM, NetHeader.GSO_TCPV4, 0x0136, 0x05a8, 0x0022, 0x0110),
                    frame, kind.splitHeader);
            CapturingNetwork.Sent sent = net.next();
            assertThat(sent.frame()).isEqualTo(frame);
            assertThat(sent.flags()).isEqualTo(NetHeader.F_NEEDS_CSUM);
            assertThat(sent.gsoType()).isEqualTo(NetHeader.GSO_TCPV4);
            assertThat(sent.hdrLen()).isEqualTo(0x0136);
            assertThat(sent.gsoSize()).isEqualTo(0x05a8);
            assertThat(sent.csumStart()).isEqualTo(0x0022);
            assertThat(sent.csumOffset()).isEqualTo(0x0110);
            assertThat(f.device.counters().txFrames()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void receiveHeaderFieldsAreWrittenInTheDriversByteOrder(Kind kind) throws Exception {
        CapturingNetwork net = new CapturingNetwork(true);
        try (DeviceFixture f = new DeviceFixture(net, kind.profile());
             NetTestDriver d = NetTestDriver.start(f.socket(), kind.transport | CSUM_AND_TSO, kind.order, 1)) {
            d.postRx(0, 4, 4096 + d.hdrSize, kind.splitHeader);
            byte[] frame = Frames.ethernet(Frames.GUEST_MAC, 0x02_00_00_00_00_09L, 0x0800, Frames.payload(1400, 2));
            net.toGuest(0, frame, NetHeader.F_NEEDS_CSUM, NetHeader.GSO_TCPV4, 0x0136, 0x05a8, 0x0022, 0x0110);
            NetTestDriver.Received r = d.receive(0);
            assertThat(r.frame()).isEqualTo(frame);
            assertThat(r.flags()).isEqualTo(NetHeader.F_NEEDS_CSUM);
            assertThat(r.gsoType()).isEqualTo(NetHeader.GSO_TCPV4);
            assertThat(r.hdrLen()).isEqualTo(0x0136);
            assertThat(r.gsoSize()).isEqualTo(0x05a8);
            assertThat(r.csumStart()).isEqualTo(0x0022);
            assertThat(r.csumOffset()).isEqualTo(0x0110);
            if (d.hdrSize == NetHeader.SIZE) {
                assertThat(r.numBuffers()).isEqualTo(1);
            }
            // The raw bytes: csum_start 0x0022 is 00 22 big-endian and 22 00 little-endian.
            boolean big = d.order == Endianness.BIG;
            assertThat(new byte[] {r.rawHeader()[6], r.rawHeader()[7]})
                    .isEqualTo(big ? new byte[] {0x00, 0x22} : new byte[] {0x22, 0x00});
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"MODERN_SPLIT", "LEGACY_BE_ANY_LAYOUT"})
    void aHeaderCutAcrossDescriptorsIsReadAndWrittenWhole(Kind kind) throws Exception {
        CapturingNetwork net = new CapturingNetwork(true);
        try (DeviceFixture f = new DeviceFixture(net, kind.profile());
             NetTestDriver d = NetTestDriver.start(f.socket(), kind.transport | CSUM_AND_TSO, kind.order, 1)) {
            byte[] frame = Frames.ethernet(MacAddress.BROADCAST, Frames.GUEST_MAC, 0x0800, Frames.payload(300, 3));
            byte[] header = d.header(NetHeader.F_NEEDS_CSUM, NetHeader.GSO_TCPV4, 0x0136, 0x05a8, 0x0022, 0x0110);
            byte[] all = java.util.Arrays.copyOf(header, header.length + frame.length);
            System.arraycopy(frame, 0, all, header.length, frame.length);
            // Fields cut in the middle: 3 bytes, then 4, then the rest of the header with the frame.
            d.sendPieces(0, all, 3, 4);
            CapturingNetwork.Sent sent = net.next();
            assertThat(sent.frame()).isEqualTo(frame);
            assertThat(sent.hdrLen()).isEqualTo(0x0136);
            assertThat(sent.gsoSize()).isEqualTo(0x05a8);
            assertThat(sent.csumStart()).isEqualTo(0x0022);
            assertThat(sent.csumOffset()).isEqualTo(0x0110);

            d.postRxPieces(0, 3, 5, 2048);
            net.toGuest(0, frame, NetHeader.F_NEEDS_CSUM, NetHeader.GSO_TCPV4, 0x0136, 0x05a8, 0x0022, 0x0110);
            NetTestDriver.Received r = d.receive(0);
            assertThat(r.frame()).isEqualTo(frame);
            assertThat(r.hdrLen()).isEqualTo(0x0136);
            assertThat(r.gsoSize()).isEqualTo(0x05a8);
            assertThat(r.csumStart()).isEqualTo(0x0022);
            assertThat(r.csumOffset()).isEqualTo(0x0110);
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void mergeableBuffersCarryAFrameAcrossSeveralBuffers(Kind kind) throws Exception {
        CapturingNetwork net = new CapturingNetwork(false);
        long wanted = kind.transport | bits(VirtioNetFeatures.MRG_RXBUF);
        try (DeviceFixture f = new DeviceFixture(net, kind.profile());
             NetTestDriver d = NetTestDriver.start(f.socket(), wanted, kind.order, 1)) {
            assertThat(d.hdrSize).isEqualTo(12);
            d.postRx(0, 16, 256, kind.splitHeader);
            for (int length : new int[] {60, 244, 245, 1000, 1514}) {
                byte[] frame = Frames.ethernet(Frames.GUEST_MAC, 0x02_00_00_00_00_09L, 0x88B5,
                        Frames.payload(length - 14, length));
                net.toGuest(0, frame);
                NetTestDriver.Received r = d.receive(0);
                int expectedBuffers = (length + 12 + 255) / 256;
                assertThat(r.numBuffers()).as("num_buffers for %d bytes", length).isEqualTo(expectedBuffers);
                assertThat(r.buffers()).isEqualTo(expectedBuffers);
                assertThat(r.frame()).isEqualTo(frame);
                d.postRx(0, expectedBuffers, 256, kind.splitHeader);
            }
        }
    }

    @Test
    void withoutMergeableBuffersATooLongFrameIsDroppedAndTheBufferServesTheNext() throws Exception {
        CapturingNetwork net = new CapturingNetwork(false);
        try (DeviceFixture f = new DeviceFixture(net, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), VERSION_1, Endianness.LITTLE, 1)) {
            d.postRx(0, 1, 12 + 200, false);
            net.toGuest(0, Frames.ethernet(Frames.GUEST_MAC, 2, 0x88B5, Frames.payload(500, 0)));
            byte[] small = Frames.ethernet(Frames.GUEST_MAC, 2, 0x88B5, Frames.payload(100, 0));
            net.toGuest(0, small);
            NetTestDriver.Received r = d.receive(0);
            assertThat(r.frame()).isEqualTo(small);
            assertThat(r.numBuffers()).isEqualTo(1);
            assertThat(f.device.counters().rxDropped()).isEqualTo(1);
            assertThat(f.device.counters().rxFrames()).isEqualTo(1);
        }
    }

    @Test
    void framesWaitWhileTheGuestHasNoBuffersAndArriveInOrder() throws Exception {
        CapturingNetwork net = new CapturingNetwork(false);
        try (DeviceFixture f = new DeviceFixture(net, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), VERSION_1 | EVENT_IDX, Endianness.LITTLE, 1)) {
            for (int i = 0; i < 5; i++) {
                net.toGuest(0, Frames.ethernet(Frames.GUEST_MAC, 2, 0x88B5, Frames.payload(50, i)));
            }
            Thread.sleep(100);
            d.postRx(0, 5, 2048, false);
            for (int i = 0; i < 5; i++) {
                assertThat(d.receive(0).frame()).isEqualTo(Frames.ethernet(Frames.GUEST_MAC, 2, 0x88B5,
                        Frames.payload(50, i)));
            }
        }
    }

    /**
     * A network may fill a whole ring in one call (the source network does): the guest gets the first frames
     * while the rest are still being written, not all of them at the end.
     */
    @Test
    void theGuestSeesFramesBeforeANetworkEndsItsBurst() throws Exception {
        int frames = 100;
        byte[] bytes = Frames.ethernet(Frames.GUEST_MAC, 2, 0x88B5, Frames.payload(50, 7));
        CountDownLatch midway = new CountDownLatch(1);
        CountDownLatch looked = new CountDownLatch(1);
        Network burst = new Network() {
            private final Packet frame = Packet.allocate(bytes.length);
            private volatile GuestPort guest;
            private boolean done;

            @Override
            public String describe() {
                return "burst";
            }

            @Override
            public void attach(GuestPort g) {
                guest = g;
            }

            @Override
            public void transmit(int pair, Packet f) {}

            @Override
            public void receiveReady(int pair) {
                GuestPort g = guest;
                if (g == null || done) {
                    return;
                }
                frame.reset(0, bytes.length);
                MemorySegment.copy(MemorySegment.ofArray(bytes), 0, frame.segment(), 0, bytes.length);
                for (int i = 0; i < frames && g.rx(pair).deliver(frame); i++) {
                    done = true;
                    if (i == frames / 2) {
                        midway.countDown();
                        try {
                            looked.await(5, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }
                g.rx(pair).flush();
            }
        };
        try (DeviceFixture f = new DeviceFixture(burst, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), VERSION_1 | EVENT_IDX, Endianness.LITTLE, 1)) {
            d.postRx(0, frames, 2048, false);
            assertThat(midway.await(5, TimeUnit.SECONDS)).as("the network delivered half its burst").isTrue();
            NetTestDriver.Received first = d.poll(0, Duration.ofMillis(500));
            looked.countDown();
            assertThat(first).as("a frame the guest can take while the burst goes on").isNotNull();
            assertThat(first.frame()).isEqualTo(bytes);
            for (int i = 1; i < frames; i++) {
                assertThat(d.receive(0).frame()).isEqualTo(bytes);
            }
        }
    }

    @Test
    void framesPostedFromManyThreadsAllArriveWithoutFurtherKicks() throws Exception {
        CapturingNetwork net = new CapturingNetwork(false);
        try (DeviceFixture f = new DeviceFixture(net, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), VERSION_1 | EVENT_IDX, Endianness.LITTLE, 1)) {
            for (int round = 0; round < 20; round++) {
                // Buffers for the whole round up front: from here on only the device's own wake-ups deliver.
                d.postRx(0, 200, 256, false);
                Thread[] senders = new Thread[4];
                for (int t = 0; t < senders.length; t++) {
                    int id = t;
                    senders[t] = Thread.ofPlatform().start(() -> {
                        for (int i = 0; i < 50; i++) {
                            net.toGuest(0, Frames.ethernet(Frames.GUEST_MAC, 2, 0x88B5, Frames.payload(50, id * 100 + i)));
                            if (i % 7 == 0) {
                                Thread.yield();
                            }
                        }
                    });
                }
                for (Thread t : senders) {
                    t.join();
                }
                for (int i = 0; i < 200; i++) {
                    assertThat(d.receive(0).frame()).hasSize(64);
                }
            }
            assertThat(f.device.counters().rxFrames()).isEqualTo(4000);
        }
    }

    @Test
    void aPartialChecksumIsCompletedForANetworkThatCannotCarryIt() throws Exception {
        CapturingNetwork net = new CapturingNetwork(false);
        try (DeviceFixture f = new DeviceFixture(net, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), VERSION_1 | bits(VirtioNetFeatures.CSUM),
                     Endianness.LITTLE, 1)) {
            assertThat(f.device.deviceFeatures() & VirtioNetFeatures.OFFLOADS).as("no offloads offered").isZero();
            byte[] frame = Frames.udpPartial(Frames.GUEST_MAC, 2, Frames.GUEST_IP, Frames.GATEWAY_IP,
                    Frames.payload(333, 5));
            assertThat(Frames.udpChecksumValid(frame)).isFalse();
            d.send(0, d.header(NetHeader.F_NEEDS_CSUM, 0, 0, 0, 34, 6), frame, false);
            CapturingNetwork.Sent sent = net.next();
            assertThat(Frames.udpChecksumValid(sent.frame())).isTrue();
            assertThat(sent.flags()).isEqualTo(NetHeader.F_DATA_VALID);
        }
    }

    @Test
    void aPartialChecksumIsCompletedForAGuestWithoutGuestCsum() throws Exception {
        CapturingNetwork net = new CapturingNetwork(true);
        try (DeviceFixture f = new DeviceFixture(net, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), VERSION_1, Endianness.LITTLE, 1)) {
            d.postRx(0, 2, 2048, false);
            byte[] frame = Frames.udpPartial(2, Frames.GUEST_MAC, Frames.GATEWAY_IP, Frames.GUEST_IP,
                    Frames.payload(100, 9));
            net.toGuest(0, frame, NetHeader.F_NEEDS_CSUM, 0, 0, 0, 34, 6);
            NetTestDriver.Received r = d.receive(0);
            assertThat(r.flags()).as("no flags for a driver without GUEST_CSUM").isZero();
            assertThat(Frames.udpChecksumValid(r.frame())).isTrue();
        }
    }

    @Test
    void hostileBuffersAreCountedAndTheDeviceCarriesOn() throws Exception {
        CapturingNetwork net = new CapturingNetwork(false);
        try (DeviceFixture f = new DeviceFixture(net, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), VERSION_1, Endianness.LITTLE, 1)) {
            // A transmit buffer shorter than the header, then one without a whole Ethernet header.
            d.send(0, new byte[5], new byte[0], false);
            d.send(0, d.header(0, 0, 0, 0, 0, 0), new byte[6], false);
            assertThat(f.device.counters().txErrors()).isEqualTo(2);
            // A receive buffer too small for the header goes back empty; the next one is used.
            d.postRx(0, 1, 4, false);
            d.postRx(0, 1, 2048, false);
            byte[] frame = Frames.ethernet(Frames.GUEST_MAC, 2, 0x88B5, Frames.payload(64, 1));
            net.toGuest(0, frame);
            assertThat(d.receiveRaw(0)).as("the buffer too small for a header comes back empty").isEmpty();
            assertThat(d.receive(0).frame()).isEqualTo(frame);
        }
    }

    @Test
    void aFailingNetworkDoesNotStopTheQueue() throws Exception {
        CapturingNetwork net = new CapturingNetwork(false);
        try (DeviceFixture f = new DeviceFixture(net, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), VERSION_1, Endianness.LITTLE, 1)) {
            net.failWith = new IllegalStateException("network down");
            d.send(0, Frames.ethernet(2, Frames.GUEST_MAC, 0x88B5, Frames.payload(50, 1)));
            net.failWith = null;
            byte[] frame = Frames.ethernet(2, Frames.GUEST_MAC, 0x88B5, Frames.payload(50, 2));
            d.send(0, frame);
            assertThat(net.next().frame()).isEqualTo(frame);
            assertThat(f.device.counters().txErrors()).isEqualTo(1);
        }
    }

    /**
     * Eight pairs, the most the device has: frames for the guest stay on the first pair until the driver enables
     * the others with VQ_PAIRS_SET, then every pair carries frames both ways; a ninth pair is refused.
     */
    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"MODERN_SPLIT", "MODERN_PACKED", "LEGACY_BE_ANY_LAYOUT"})
    void allEightQueuePairsCarryTrafficOnceTheDriverEnablesThem(Kind kind) throws Exception {
        int pairs = 8;
        long peer = 0x02_00_00_00_00_09L;
        CapturingNetwork net = new CapturingNetwork(false);
        NetDeviceConfig config = NetDeviceConfig.defaults("net0").withQueuePairs(pairs);
        long wanted = kind.transport | bits(VirtioNetFeatures.CTRL_VQ, VirtioNetFeatures.MQ, VirtioNetFeatures.MAC);
        try (DeviceFixture f = new DeviceFixture("net0", config, net, kind.profile(), 2);
             NetTestDriver d = NetTestDriver.start(f.socket(), wanted, kind.order, pairs)) {
            assertThat(d.has(VirtioNetFeatures.MQ) && d.has(VirtioNetFeatures.CTRL_VQ)).isTrue();
            for (int p = 0; p < pairs; p++) {
                d.postRx(p, 2, 2048, kind.splitHeader);
            }
            assertThat(IntStream.range(0, pairs).map(net.guest::pickPair)).as("before VQ_PAIRS_SET").containsOnly(0);
            assertThat(d.control(ControlQueue.CLASS_MQ, ControlQueue.MQ_VQ_PAIRS_SET, d.u16(pairs)))
                    .isEqualTo(ControlQueue.OK);
            assertThat(f.device.activePairs()).isEqualTo(pairs);
            assertThat(d.control(ControlQueue.CLASS_MQ, ControlQueue.MQ_VQ_PAIRS_SET, d.u16(pairs + 1)))
                    .as("more pairs than the device has").isEqualTo(ControlQueue.ERR);
            assertThat(f.device.activePairs()).isEqualTo(pairs);

            for (int p = 0; p < pairs; p++) {
                byte[] out = Frames.ethernet(peer, Frames.GUEST_MAC, 0x88B5, Frames.payload(60, p));
                d.send(p, d.header(0, 0, 0, 0, 0, 0), out, kind.splitHeader);
                CapturingNetwork.Sent sent = net.next();
                assertThat(sent.pair()).as("transmit queue of pair %d", p).isEqualTo(p);
                assertThat(sent.frame()).isEqualTo(out);

                int steered = net.guest.pickPair(p);
                assertThat(steered).as("receive queue for hash %d", p).isEqualTo(p);
                byte[] in = Frames.ethernet(Frames.GUEST_MAC, peer, 0x88B5, Frames.payload(60, 100 + p));
                net.toGuest(steered, in);
                assertThat(d.receive(p).frame()).as("receive queue of pair %d", p).isEqualTo(in);
            }
            assertThat(f.device.counters().txFrames()).isEqualTo(pairs);
            assertThat(f.device.counters().rxFrames()).as("nothing arrived twice").isEqualTo(pairs);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"MODERN_SPLIT", "LEGACY_BE_FRAMING", "LEGACY_LE_FRAMING"})
    void configSpaceIsInTheDriversByteOrder(Kind kind) throws Exception {
        NetDeviceConfig config = new NetDeviceConfig("net0", 0x02_11_22_33_44_55L, 4, 9000);
        try (DeviceFixture f = new DeviceFixture("net0", config, new SinkNetwork(), kind.profile(), 1);
             NetTestDriver d = NetTestDriver.start(f.socket(), kind.transport | bits(VirtioNetFeatures.MAC,
                     VirtioNetFeatures.STATUS, VirtioNetFeatures.MQ, VirtioNetFeatures.MTU), kind.order, 1)) {
            MemorySegment c = MemorySegment.ofArray(d.config());
            assertThat(MacAddress.get(c, 0)).isEqualTo(0x02_11_22_33_44_55L);
            assertThat(d.order.u16(c, 6)).isEqualTo(1); // VIRTIO_NET_S_LINK_UP
            assertThat(d.order.u16(c, 8)).isEqualTo(4);
            assertThat(d.order.u16(c, 10)).isEqualTo(9000);
            f.device.setLinkUp(false);
            assertThat(d.order.u16(MemorySegment.ofArray(d.config()), 6)).isZero();
        }
    }

    @Test
    void offloadsAreOfferedOnlyByANetworkThatCarriesThem() throws Exception {
        VirtioNetDevice plain = new VirtioNetDevice(NetDeviceConfig.defaults("a"), new GatewayNetwork());
        VirtioNetDevice tap = new VirtioNetDevice(NetDeviceConfig.defaults("b"), new CapturingNetwork(true));
        try (plain; tap) {
            assertThat(plain.deviceFeatures() & VirtioNetFeatures.OFFLOADS).isZero();
            assertThat(tap.deviceFeatures() & VirtioNetFeatures.OFFLOADS).isEqualTo(VirtioNetFeatures.OFFLOADS);
            assertThat(plain.deviceFeatures()).as("MQ only with more than one pair")
                    .isEqualTo(plain.deviceFeatures() & ~(1L << VirtioNetFeatures.MQ));
            assertThat(plain.maxQueues()).isEqualTo(3);
        }
    }

    /**
     * The feature set Linux, DPDK and Windows drivers look for, offered through vhost-user as a front-end sees it:
     * multiqueue only with more than one pair, offloads only on a network that carries them (a TAP with a vnet
     * header).
     */
    @Test
    void aFrontEndIsOfferedTheFeaturesDriversExpect() throws Exception {
        List<String> base = List.of("MAC", "STATUS", "MTU", "MRG_RXBUF", "CSUM", "GUEST_CSUM", "CTRL_VQ", "CTRL_RX",
                "CTRL_RX_EXTRA", "CTRL_MAC_ADDR", "CTRL_VLAN", "GUEST_ANNOUNCE", "NOTIFY_ON_EMPTY", "ANY_LAYOUT",
                "LOG_ALL", "RING_INDIRECT_DESC", "RING_EVENT_IDX", "PROTOCOL_FEATURES", "VERSION_1", "RING_PACKED");
        List<String> offloads = List.of("HOST_TSO4", "HOST_TSO6", "HOST_ECN", "HOST_UFO", "GUEST_TSO4", "GUEST_TSO6",
                "GUEST_ECN", "GUEST_UFO");
        try (DeviceFixture one = new DeviceFixture(new GatewayNetwork(), DeviceProfile.DEFAULT);
             DeviceFixture pairs = new DeviceFixture("net1", NetDeviceConfig.defaults("net1").withQueuePairs(8),
                     new CapturingNetwork(true), DeviceProfile.DEFAULT, 1)) {
            assertThat(offeredNames(one)).containsExactlyInAnyOrderElementsOf(base);
            List<String> all = new ArrayList<>(base);
            all.add("MQ");
            all.addAll(offloads);
            assertThat(offeredNames(pairs)).containsExactlyInAnyOrderElementsOf(all);
        }
    }

    private static List<String> offeredNames(DeviceFixture f) throws Exception {
        try (Frontend frontend = Frontend.connect(f.socket(), Duration.ofSeconds(5))) {
            return VirtioFeatures.names(frontend.getFeatures(), VirtioNetFeatures.NAMES);
        }
    }
}

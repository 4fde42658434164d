package io.jvdpa.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.device.DeviceProfile;
import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.UnixSocket;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.ProtocolFeature;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Link state and announcements reach the front-end as CONFIG_CHANGE_MSG on the back-end channel. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LinkStateTest {
    private static final int CONFIG_CHANGE_MSG = 2;

    /** Reads one back-end request header (request, flags, size) and its payload; returns the request id. */
    private static CompletableFuture<Integer> nextRequest(UnixSocket channel) {
        return CompletableFuture.supplyAsync(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment header = arena.allocate(12);
                if (!channel.recvExactly(header, null)) {
                    throw new IllegalStateException("back-end channel closed");
                }
                int size = header.get(ValueLayout.JAVA_INT_UNALIGNED, 8);
                if (size > 0) {
                    channel.recvExactly(arena.allocate(size), null);
                }
                return header.get(ValueLayout.JAVA_INT_UNALIGNED, 0);
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void linkDownAndAnnouncementsAreToldToTheFrontEnd() throws Exception {
        long noReplyAck = ProtocolFeature.maskOf(ProtocolFeature.values()) & ~ProtocolFeature.REPLY_ACK.mask();
        long features = NetTestDriver.VERSION_1 | VirtioNetFeatures.bits(VirtioNetFeatures.STATUS,
                VirtioNetFeatures.CTRL_VQ, VirtioNetFeatures.GUEST_ANNOUNCE);
        UnixSocket[] pair = UnixSocket.pair();
        try (DeviceFixture f = new DeviceFixture(new GatewayNetwork(), DeviceProfile.DEFAULT);
             DriverSession s = DriverSession.connect(f.socket(), 8 << 20);
             UnixSocket ours = pair[0]; UnixSocket theirs = pair[1]) {
            s.negotiate(features, noReplyAck);
            s.frontend().setBackendReqFd(theirs.fd());
            s.setUpRing(0, 64, Endianness.LITTLE);
            s.setUpRing(1, 64, Endianness.LITTLE);
            s.setUpRing(2, 64, Endianness.LITTLE);
            // Without REPLY_ACK nothing above waits for the back-end; a request that is answered does, so the
            // back-end channel is known to the device before the link changes behind the connection's back.
            s.frontend().getConfig(0, 12);

            CompletableFuture<Integer> down = nextRequest(ours);
            f.device.setLinkUp(false);
            assertThat(down.get(5, TimeUnit.SECONDS)).isEqualTo(CONFIG_CHANGE_MSG);
            assertThat(Endianness.LITTLE.u16(MemorySegment.ofArray(s.frontend().getConfig(0, 12)), 6)).isZero();

            CompletableFuture<Integer> up = nextRequest(ours);
            f.device.setLinkUp(true);
            assertThat(up.get(5, TimeUnit.SECONDS)).isEqualTo(CONFIG_CHANGE_MSG);

            // After a migration the front-end asks for a RARP; a driver with GUEST_ANNOUNCE announces itself.
            CompletableFuture<Integer> announce = nextRequest(ours);
            s.frontend().sendRaw(19, 0, java.util.Arrays.copyOf(MacAddress.toBytes(Frames.GUEST_MAC), 8), java.util.List.of()); // SEND_RARP
            assertThat(announce.get(5, TimeUnit.SECONDS)).isEqualTo(CONFIG_CHANGE_MSG);
            assertThat(Endianness.LITTLE.u16(MemorySegment.ofArray(s.frontend().getConfig(0, 12)), 6))
                    .isEqualTo(NetConfigSpace.S_LINK_UP | NetConfigSpace.S_ANNOUNCE);
        }
    }

    @Test
    void withoutGuestAnnounceARarpGoesOutFromTheGuestsAddress() throws Exception {
        CapturingNetwork net = new CapturingNetwork(false);
        try (DeviceFixture f = new DeviceFixture(net, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), NetTestDriver.VERSION_1, Endianness.LITTLE, 1)) {
            d.session.frontend().sendRaw(19, 0, java.util.Arrays.copyOf(MacAddress.toBytes(Frames.GUEST_MAC), 8), java.util.List.of());
            CapturingNetwork.Sent rarp = net.next();
            assertThat(Frames.mac(rarp.frame(), 0)).isEqualTo(MacAddress.BROADCAST);
            assertThat(Frames.mac(rarp.frame(), 6)).isEqualTo(Frames.GUEST_MAC);
            assertThat(Frames.u16(rarp.frame(), 12)).isEqualTo(0x8035);
            assertThat(Frames.u16(rarp.frame(), 20)).as("reverse request").isEqualTo(3);
        }
    }
}

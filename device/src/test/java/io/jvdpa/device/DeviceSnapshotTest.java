package io.jvdpa.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.memory.Endianness;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.vhostuser.VhostUserException;
import io.jvdpa.virtqueue.UsedBuffer;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The management view of a device follows negotiation, driver kind and traffic. */
class DeviceSnapshotTest {
    private static final long VERSION_1 = 1L << 32;
    private static final long ALL_PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.values());

    @Test
    void showsNegotiationAndQueueCountersOfABigEndianLegacyDriver() throws Exception {
        try (EchoFixture echo = new EchoFixture()) {
            DeviceSnapshot idle = echo.backend.snapshot();
            assertThat(idle.type()).isEqualTo("echo");
            assertThat(idle.driver().kind()).isEqualTo(DriverModel.Kind.UNKNOWN);
            assertThat(idle.offeredFeatures()).contains("ECHO_TEST", "VERSION_1", "RING_PACKED");
            assertThat(idle.queues()).hasSize(2).allSatisfy(q -> assertThat(q.started()).isFalse());

            try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
                s.negotiate(1L << 3, ALL_PROTOCOL);
                DriverRing r = s.setUpRing(0, 128, Endianness.BIG);
                long out = s.ram().allocate(16, 16);
                long in = s.ram().allocate(16, 16);
                for (int i = 0; i < 3; i++) {
                    assertThat(r.queue().post(new long[] {out, in}, new int[] {8, 16}, 1, 1, i)).isTrue();
                    r.publishAndKick();
                    r.awaitUsed(new UsedBuffer(), Duration.ofSeconds(5));
                }
                DeviceSnapshot snap = echo.backend.snapshot();
                assertThat(snap.driver().kind()).isEqualTo(DriverModel.Kind.LEGACY);
                assertThat(snap.negotiatedFeatures()).contains("ECHO_TEST").doesNotContain("VERSION_1");
                assertThat(snap.protocolFeatures()).contains("CROSS_ENDIAN", "REPLY_ACK");
                assertThat(snap.driver().evidence()).anyMatch(e -> e.contains("SET_VRING_ENDIAN"));
                QueueSnapshot q0 = snap.queues().getFirst();
                assertThat(q0.started()).isTrue();
                assertThat(q0.size()).isEqualTo(128);
                assertThat(q0.order()).isEqualTo(Endianness.BIG);
                assertThat(q0.kicks()).isBetween(1L, 3L);
                assertThat(q0.chains()).isEqualTo(3);
                assertThat(q0.usedChains()).isEqualTo(3);
                assertThat(q0.readBytes()).isEqualTo(24);
                assertThat(q0.writtenBytes()).isEqualTo(24);
                assertThat(q0.broken()).isFalse();
                assertThat(snap.queues().get(1).started()).isFalse();
            }
        }
    }

    @Test
    void countsARefusalWithItsReason() throws Exception {
        try (EchoFixture echo = new EchoFixture(DeviceProfile.DEFAULT.withLegacy(LegacyPolicy.OFF))) {
            try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
                assertThatThrownBy(() -> s.negotiate(0, ALL_PROTOCOL)).isInstanceOf(VhostUserException.class);
            }
            DeviceSnapshot snap = echo.backend.snapshot();
            assertThat(snap.refusals()).isEqualTo(1);
            assertThat(snap.lastRefusal()).contains("legacy driver refused");
            assertThat(snap.ackedFeatures() & VERSION_1).isZero();
        }
    }
}

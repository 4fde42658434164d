package io.jvdpa.device;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.memory.Endianness;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.Frontend;
import io.jvdpa.vhostuser.ProtocolFeature;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each thing a driver does that tells its kind is kept as evidence, and only what it really did. */
class DriverEvidenceTest {
    private static final long VERSION_1 = 1L << 32;
    private static final long ECHO_TEST = 1L << 3;
    private static final long ALL_PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.values());
    /** Device status bits (virtio 1.2 section 2.1). */
    private static final int ACKNOWLEDGE = 0x1;
    private static final int DRIVER = 0x2;
    private static final int DRIVER_OK = 0x4;
    private static final int FEATURES_OK = 0x8;

    private static List<String> evidence(EchoFixture echo) {
        return echo.backend.snapshot().driver().evidence();
    }

    /**
     * A legacy driver as it meets a device: config first, no FEATURES_OK, kicks before DRIVER_OK, its byte order
     * said per ring. Each leaves its line, in order; setting a ring up is no kick, and later kicks add nothing.
     */
    @Test
    void aLegacyDriverLeavesEachPieceOfEvidence() throws Exception {
        try (EchoFixture echo = new EchoFixture();
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            Frontend f = s.frontend();
            f.getFeatures();
            f.setProtocolFeatures(f.getProtocolFeatures() & ALL_PROTOCOL);
            f.setStatus(ACKNOWLEDGE | DRIVER);
            f.getConfig(0, 8);
            s.negotiate(ECHO_TEST, ALL_PROTOCOL);
            DriverRing r = s.setUpRing(0, 64, Endianness.BIG);
            assertThat(evidence(echo)).as("SET_VRING_KICK starts the ring but is no kick").noneMatch(e -> e.contains("kick"));

            assertThat(EchoDevice.roundTrip(s, r, Endianness.BIG, 1)).isEqualTo(2);
            assertThat(EchoDevice.roundTrip(s, r, Endianness.BIG, 2)).isEqualTo(3);
            s.driverOk();
            assertThat(EchoDevice.roundTrip(s, r, Endianness.BIG, 3)).isEqualTo(4);

            assertThat(evidence(echo)).containsExactly(
                    "config space read by the driver before features were set",
                    "VERSION_1 not acked in SET_FEATURES: legacy driver",
                    "SET_VRING_ENDIAN queue 0: BIG",
                    "kick on queue 0 before DRIVER_OK",
                    "DRIVER_OK without FEATURES_OK: legacy status sequence");
        }
    }

    /**
     * A modern driver in the order QEMU drives it (FEATURES_OK with SET_FEATURES, rings, then DRIVER_OK, then
     * kicks): only VERSION_1 speaks, though the rings started before DRIVER_OK.
     */
    @Test
    void aModernDriverLeavesOnlyItsVersion1() throws Exception {
        try (EchoFixture echo = new EchoFixture();
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(VERSION_1 | ECHO_TEST, ALL_PROTOCOL);
            s.frontend().getConfig(0, 8);
            s.frontend().setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            s.frontend().setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
            assertThat(EchoDevice.roundTrip(s, r, Endianness.LITTLE, 41)).isEqualTo(42);

            assertThat(evidence(echo)).containsExactly("VERSION_1 acked in SET_FEATURES: modern driver");
        }
    }

    /**
     * A front-end that reads the config for itself before any driver came (QEMU's vhost-user-blk reads it when the
     * device is created, then a modern driver negotiates) leaves no config evidence: no driver was there to read.
     */
    @Test
    void aConfigReadBeforeAnyDriverIsNoEvidence() throws Exception {
        try (EchoFixture echo = new EchoFixture();
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            Frontend f = s.frontend();
            f.getFeatures();
            f.setProtocolFeatures(f.getProtocolFeatures() & ALL_PROTOCOL);
            f.getConfig(0, 8);
            s.negotiate(VERSION_1 | ECHO_TEST, ALL_PROTOCOL);
            f.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            f.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK);
            assertThat(EchoDevice.roundTrip(s, r, Endianness.LITTLE, 5)).isEqualTo(6);

            assertThat(evidence(echo)).containsExactly("VERSION_1 acked in SET_FEATURES: modern driver");
        }
    }

    /** Kicks are evidence only while the status is known to lack DRIVER_OK: without SET_STATUS nothing is said. */
    @Test
    void kicksWithoutAStatusAreNoEvidence() throws Exception {
        try (EchoFixture echo = new EchoFixture();
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(ECHO_TEST, ALL_PROTOCOL & ~ProtocolFeature.STATUS.mask());
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            assertThat(EchoDevice.roundTrip(s, r, Endianness.LITTLE, 7)).isEqualTo(8);

            assertThat(evidence(echo)).containsExactly("VERSION_1 not acked in SET_FEATURES: legacy driver",
                    "SET_VRING_ENDIAN queue 0: LITTLE");
        }
    }
}

package io.jvdpa.device;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.UnixSocket;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.ProtocolFeature;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

/** The byte order each ring really uses: by traffic through the echo device, and as the snapshot shows it. */
class ByteOrderTest {
    private static final long VERSION_1 = 1L << 32;
    private static final long ECHO_TEST = 1L << 3;
    private static final long ALL_PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.values());
    private static final int CONFIG_CHANGE_MSG = 2;
    private static final int NEED_REPLY = 0x8;

    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(DeviceBackend.class);

    @BeforeEach
    void setUp() {
        log.start();
        logger.addAppender(log);
    }

    @AfterEach
    void tearDown() {
        logger.detachAppender(log);
    }

    /**
     * A VERSION_1 driver is little-endian whatever SET_VRING_ENDIAN says: a big one is ignored and logged, also
     * under {@code le-only}, whose refusal is for big-endian legacy drivers only.
     */
    @ParameterizedTest(name = "--legacy {0}")
    @EnumSource(value = LegacyPolicy.class, names = {"AUTO", "LE_ONLY"})
    void aModernDriverStaysLittleEndianWhateverItAsks(LegacyPolicy policy) throws Exception {
        try (EchoFixture echo = new EchoFixture(DeviceProfile.DEFAULT.withLegacy(policy));
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(VERSION_1 | ECHO_TEST, ALL_PROTOCOL);
            s.frontend().setVringEndian(0, true); // REPLY_ACK: a refusal would throw here
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            assertThat(EchoDevice.roundTrip(s, r, Endianness.LITTLE, 41)).isEqualTo(42);

            DeviceSnapshot snap = echo.backend.snapshot();
            assertThat(snap.refusals()).isZero();
            assertThat(snap.queues().getFirst().order()).isEqualTo(Endianness.LITTLE);
            assertThat(snap.driver().deviceOrder()).isEqualTo(Endianness.LITTLE);
            assertThat(snap.driver().evidence()).contains(
                    "SET_VRING_ENDIAN queue 0: BIG ignored: VERSION_1 acked, the driver is little-endian");
            assertThat(log.list).anySatisfy(e -> {
                assertThat(e.getLevel()).isEqualTo(Level.WARN);
                assertThat(e.getFormattedMessage())
                        .isEqualTo("echo0: SET_VRING_ENDIAN big for queue 0 ignored: a VERSION_1 driver is little-endian");
            });
        }
    }

    /**
     * A legacy driver's rings each take their own SET_VRING_ENDIAN; a ring without one takes the device-wide order
     * (the last SET_VRING_ENDIAN) when it starts, and keeps it while it runs. Headers follow the device-wide order.
     * QEMU sends SET_VRING_ENDIAN for each ring just before starting it; the restart below is where a ring's own
     * order and the device-wide one part.
     */
    @Test
    void legacyRingsUseTheirOwnOrderOrTheDeviceWideOne() throws Exception {
        try (EchoFixture echo = new EchoFixture(new EchoDevice(false, 3), DeviceProfile.DEFAULT);
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(ECHO_TEST, ALL_PROTOCOL);
            DriverRing own = s.setUpRing(0, 64, Endianness.BIG);
            DriverRing inherited = s.setUpRingWithoutEndian(1, 64, Endianness.BIG);
            DriverRing little = s.setUpRing(2, 64, Endianness.LITTLE);

            // The last SET_VRING_ENDIAN (queue 2, little) is the device-wide order the echo header uses.
            assertThat(EchoDevice.roundTrip(s, own, Endianness.LITTLE, 10)).isEqualTo(11);
            assertThat(EchoDevice.roundTrip(s, inherited, Endianness.LITTLE, 20)).isEqualTo(21);
            assertThat(EchoDevice.roundTrip(s, little, Endianness.LITTLE, 30)).isEqualTo(31);
            // Restarted now that the device-wide order is little, queue 0 still takes its own: big.
            s.frontend().setVringBase(0, s.frontend().getVringBase(0));
            s.frontend().setVringKick(0, own.kick().fd());
            assertThat(EchoDevice.roundTrip(s, own, Endianness.LITTLE, 40)).isEqualTo(41);

            DeviceSnapshot snap = echo.backend.snapshot();
            assertThat(snap.driver().kind()).isEqualTo(DriverModel.Kind.LEGACY);
            assertThat(snap.driver().deviceOrder()).isEqualTo(Endianness.LITTLE);
            assertThat(snap.queues()).extracting(QueueSnapshot::order)
                    .containsExactly(Endianness.BIG, Endianness.BIG, Endianness.LITTLE);
            assertThat(snap.queues()).allSatisfy(q -> {
                assertThat(q.broken()).isFalse();
                assertThat(q.started()).isTrue();
            });
        }
    }

    /**
     * A big-endian legacy driver's first SET_VRING_ENDIAN turns the device-wide order, so a config read before it
     * was in the other order: the front-end is told once (CONFIG_CHANGE_MSG), not once per ring, and without asking
     * for an ack. The front-end answers the message by reading the config on the main channel, which the thread
     * that handles SET_VRING_ENDIAN serves: waiting there for the ack would hold both sides.
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aNewDeviceOrderAsksTheFrontEndOnceToReadTheConfigAgain() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (EchoFixture echo = new EchoFixture(new EchoDevice(false, 2), DeviceProfile.DEFAULT);
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20);
             UnixSocket ours = pair[0]; UnixSocket theirs = pair[1];
             Arena arena = Arena.ofConfined()) {
            s.negotiate(ECHO_TEST, ALL_PROTOCOL);
            s.frontend().setBackendReqFd(theirs.fd());
            s.setUpRing(0, 64, Endianness.BIG);
            s.setUpRing(1, 64, Endianness.BIG);
            s.frontend().getConfig(0, 8);

            MemorySegment header = arena.allocate(12);
            assertThat(ours.recvExactly(header, null)).isTrue();
            assertThat(header.get(ValueLayout.JAVA_INT_UNALIGNED, 0)).as("request").isEqualTo(CONFIG_CHANGE_MSG);
            assertThat(header.get(ValueLayout.JAVA_INT_UNALIGNED, 4) & NEED_REPLY).as("NEED_REPLY").isZero();
            assertThat(header.get(ValueLayout.JAVA_INT_UNALIGNED, 8)).as("size").isZero();
            // The second ring's SET_VRING_ENDIAN left the order as it was: nothing more is on the channel.
            ours.setNonBlocking(true);
            assertThat(ours.recv(header, null)).as("bytes after the one message (-1: none)").isEqualTo(-1);
        }
    }
}

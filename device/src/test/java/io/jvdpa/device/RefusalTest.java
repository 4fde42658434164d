package io.jvdpa.device;

import static io.jvdpa.device.RawPayload.state;
import static io.jvdpa.device.RawPayload.u64;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.jvdpa.memory.Endianness;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.Frontend;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.vhostuser.Request;
import io.jvdpa.vhostuser.VhostUserException;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

/**
 * A driver outside the profile, refused at the request that reveals it: the front-end hears "failed" where
 * REPLY_ACK lets it, otherwise loses the connection; either way the reason is logged and counted, and the device
 * serves what comes next.
 */
class RefusalTest {
    private static final long VERSION_1 = 1L << 32;
    private static final long PROTOCOL_FEATURES = 1L << 30;
    private static final long ECHO_TEST = 1L << 3;
    private static final long ALL_PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.values());
    private static final long WITHOUT_REPLY_ACK = ALL_PROTOCOL & ~ProtocolFeature.REPLY_ACK.mask();

    /** Each refusal the profile makes, and the request that reveals the driver it refuses. */
    enum Refused {
        /** A legacy driver under {@code --legacy off}: its SET_FEATURES without VERSION_1. */
        LEGACY_UNDER_OFF(LegacyPolicy.OFF, "legacy driver refused: profile --legacy off (VERSION_1 not acked)"),
        /** A big-endian legacy driver under {@code --legacy le-only}: its SET_VRING_ENDIAN big. */
        BIG_ENDIAN_UNDER_LE_ONLY(LegacyPolicy.LE_ONLY, "legacy big-endian driver refused: profile --legacy le-only");

        final LegacyPolicy policy;
        final String reason;

        Refused(LegacyPolicy policy, String reason) {
            this.policy = policy;
            this.reason = reason;
        }
    }

    private EchoFixture echo;
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(DeviceBackend.class);

    private void serve(LegacyPolicy policy) throws Exception {
        echo = new EchoFixture(DeviceProfile.DEFAULT.withLegacy(policy));
    }

    @BeforeEach
    void setUp() {
        log.start();
        logger.addAppender(log);
    }

    @AfterEach
    void tearDown() throws Exception {
        logger.detachAppender(log);
        echo.close();
    }

    /**
     * With REPLY_ACK and NEED_REPLY the refused request is answered with a non-zero u64 (the reason goes to the
     * log and the counter). The request takes no effect, and the same connection serves what follows: the driver
     * the profile does serve.
     */
    @ParameterizedTest
    @EnumSource(Refused.class)
    void underReplyAckTheFrontEndHearsFailedAndGoesOn(Refused refused) throws Exception {
        serve(refused.policy);
        try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            Frontend f = s.frontend();
            long status;
            DriverRing r;
            if (refused == Refused.LEGACY_UNDER_OFF) {
                f.getFeatures();
                f.setProtocolFeatures(f.getProtocolFeatures() & ALL_PROTOCOL);
                status = f.sendRawForStatus(Request.SET_FEATURES.id, u64(ECHO_TEST | PROTOCOL_FEATURES), List.of());
                assertThat(echo.backend.snapshot().ackedFeatures()).as("nothing acked").isZero();
                s.negotiate(VERSION_1 | ECHO_TEST, ALL_PROTOCOL);
                r = s.setUpRing(0, 64, Endianness.LITTLE);
            } else {
                s.negotiate(ECHO_TEST, ALL_PROTOCOL);
                f.setVringNum(0, 64);
                status = f.sendRawForStatus(Request.SET_VRING_ENDIAN.id, state(0, 1), List.of());
                assertThat(echo.backend.snapshot().driver().ringOrders().getFirst()).as("order unchanged")
                        .isEqualTo(Endianness.nativeOrder());
                r = s.setUpRing(0, 64, Endianness.LITTLE);
            }
            assertThat(status).as("failure status").isNotZero();
            assertThat(EchoDevice.roundTrip(s, r, Endianness.LITTLE, 5)).isEqualTo(6);

            assertThat(echo.backend.refusals()).isEqualTo(1);
            assertThat(echo.backend.lastRefusal()).isEqualTo(refused.reason);
            assertThat(log.list).anySatisfy(e -> {
                assertThat(e.getLevel()).isEqualTo(Level.ERROR);
                assertThat(e.getFormattedMessage()).isEqualTo("echo0: " + refused.reason);
            });
            assertThat(echo.endpoint.connections()).isEqualTo(1);
        }
    }

    /**
     * Without REPLY_ACK the front-end cannot be told "failed", so the connection closes; the refusal is still
     * counted, and the next front-end is served.
     */
    @ParameterizedTest
    @EnumSource(Refused.class)
    void withoutReplyAckTheConnectionClosesAndTheNextFrontEndIsServed(Refused refused) throws Exception {
        serve(refused.policy);
        try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            assertThatThrownBy(() -> {
                s.negotiate(ECHO_TEST, WITHOUT_REPLY_ACK); // refused here under --legacy off
                if (refused == Refused.BIG_ENDIAN_UNDER_LE_ONLY) {
                    s.frontend().setVringEndian(0, true);
                }
                s.frontend().getFeatures();
            }).isInstanceOfAny(VhostUserException.class, IOException.class);
        }
        assertThat(echo.backend.refusals()).isEqualTo(1);
        assertThat(echo.backend.lastRefusal()).isEqualTo(refused.reason);

        try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(VERSION_1 | ECHO_TEST, ALL_PROTOCOL);
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            assertThat(EchoDevice.roundTrip(s, r, Endianness.LITTLE, 8)).isEqualTo(9);
        }
        assertThat(echo.endpoint.connections()).isEqualTo(2);
    }
}

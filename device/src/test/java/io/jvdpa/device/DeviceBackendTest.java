package io.jvdpa.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.memory.Endianness;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.vhostuser.VhostUserException;
import io.jvdpa.virtqueue.UsedBuffer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** jvdpa's own front-end against the framework over a real socket, for each driver kind the framework serves. */
class DeviceBackendTest {
    private static final long VERSION_1 = 1L << 32;
    private static final long RING_PACKED = 1L << 34;
    private static final long EVENT_IDX = 1L << 29;
    private static final long INDIRECT = 1L << 28;
    private static final long ALL_PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.values());

    /**
     * A ring notifies its driver once as it starts, before any buffer is used: a front-end that reconnects may have
     * missed the last notification of the back-end before, and would otherwise wait for it forever.
     */
    @ParameterizedTest(name = "{0} ring")
    @CsvSource({"split", "packed"})
    void aRingNotifiesItsDriverOnceAsItStarts(String ring) throws Exception {
        try (EchoFixture echo = new EchoFixture();
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(VERSION_1 | (ring.equals("packed") ? RING_PACKED : 0) | 1L << 3, ALL_PROTOCOL);
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            long notified = 0;
            while (notified == 0 && System.nanoTime() < deadline) {
                notified = r.call().drain();
                Thread.sleep(5);
            }
            assertThat(notified).as("notifications of a ring that has used nothing").isEqualTo(1);
            assertThat(r.call().drain()).isZero();
        }
    }

    /** A ring whose driver waits for a buffer that never comes back: the wait ends, naming ring and timeout. */
    @Test
    void waitingForAUsedBufferThatNeverComesEndsAtTheTimeout() throws Exception {
        try (EchoFixture echo = new EchoFixture();
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(VERSION_1 | 1L << 3, ALL_PROTOCOL);
            DriverRing r = s.setUpRing(1, 64, Endianness.LITTLE);
            long start = System.nanoTime();
            assertThatThrownBy(() -> r.awaitUsed(new UsedBuffer(), Duration.ofMillis(50)))
                    .isInstanceOf(TimeoutException.class).hasMessage("virtqueue 1: no used buffer within 50 ms");
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(Duration.ofMillis(50).toNanos());
        }
    }

    @ParameterizedTest(name = "{0} driver, {1}, {2} ring, event idx {3}")
    @CsvSource({
        "modern, LITTLE, split, false", "modern, LITTLE, split, true", "modern, LITTLE, packed, false",
        "modern, LITTLE, packed, true", "legacy, LITTLE, split, false", "legacy, LITTLE, split, true",
        "legacy, BIG, split, false", "legacy, BIG, split, true"})
    void echoesThroughEveryDriverKind(String kind, Endianness order, String ring, boolean eventIdx) throws Exception {
        long wanted = INDIRECT | (eventIdx ? EVENT_IDX : 0) | (kind.equals("modern") ? VERSION_1 : 0)
                | (ring.equals("packed") ? RING_PACKED : 0) | 1L << 3;
        try (EchoFixture echo = new EchoFixture();
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(wanted, ALL_PROTOCOL);
            DriverRing r = s.setUpRing(0, 256, order);
            // 600 requests: more than two laps of a 256-entry ring, so indices wrap around.
            UsedBuffer used = new UsedBuffer();
            long out = s.ram().allocate(64, 16);
            long in = s.ram().allocate(64, 16);
            for (int i = 0; i < 600; i++) {
                MemorySegment o = s.ram().at(out, 8);
                o.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(order.byteOrder()), 0, i);
                o.set(ValueLayout.JAVA_BYTE, 4, (byte) 1);
                o.set(ValueLayout.JAVA_BYTE, 5, (byte) 2);
                o.set(ValueLayout.JAVA_BYTE, 6, (byte) 3);
                o.set(ValueLayout.JAVA_BYTE, 7, (byte) 4);
                assertThat(r.queue().post(new long[] {out, in}, new int[] {8, 64}, 1, 1, i)).isTrue();
                r.publishAndKick();
                r.awaitUsed(used, Duration.ofSeconds(5));
                assertThat(used.token()).isEqualTo(i);
                assertThat(used.length()).isEqualTo(8);
                MemorySegment reply = s.ram().at(in, 8);
                Endianness expected = kind.equals("modern") ? Endianness.LITTLE : order;
                assertThat(reply.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(expected.byteOrder()), 0)).isEqualTo(i + 1);
                assertThat(reply.asSlice(4, 4).toArray(ValueLayout.JAVA_BYTE)).containsExactly(4, 3, 2, 1);
            }
            byte[] config = s.frontend().getConfig(0, 8);
            Endianness configOrder = kind.equals("modern") ? Endianness.LITTLE : order;
            assertThat(java.nio.ByteBuffer.wrap(config).order(configOrder.byteOrder()).getInt(0)).isEqualTo(0x12345678);
            // Split: the next avail index; packed: the next descriptor position (two descriptors per request).
            long expectedBase = ring.equals("packed") ? (600 * 2) % 256 : 600;
            assertThat(s.frontend().getVringBase(0) & 0x7fff).isEqualTo(expectedBase);
        }
    }

    /**
     * QEMU stops a running device with SET_STATUS 0 and only then asks GET_VRING_BASE (vhost_dev_stop); the base
     * it gets is what it migrates, so it must be where the ring stood, not where it started.
     */
    @ParameterizedTest(name = "{0} ring")
    @CsvSource({"split", "packed"})
    void ringsStoppedByStatusZeroStillReportWhereTheyStood(String ring) throws Exception {
        long wanted = VERSION_1 | (ring.equals("packed") ? RING_PACKED : 0) | 1L << 3;
        try (EchoFixture echo = new EchoFixture();
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(wanted, ALL_PROTOCOL);
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            s.driverOk();
            UsedBuffer used = new UsedBuffer();
            long out = s.ram().allocate(8, 16);
            long in = s.ram().allocate(8, 16);
            for (int i = 0; i < 10; i++) {
                assertThat(r.queue().post(new long[] {out, in}, new int[] {8, 8}, 1, 1, i)).isTrue();
                r.publishAndKick();
                r.awaitUsed(used, Duration.ofSeconds(5));
            }
            s.frontend().setStatus(0);
            assertThat(echo.device.deactivations).as("the device stopped on status 0").isEqualTo(1);
            // Split: the next avail index; packed: the next descriptor position, avail wrap counter still set.
            long expected = ring.equals("packed") ? 20 | 1L << 15 | (20L | 1L << 15) << 16 : 10;
            assertThat(s.frontend().getVringBase(0)).isEqualTo(expected);
        }
    }

    @Test
    void legacyBigEndianIsRefusedByAnLittleEndianOnlyProfile() throws Exception {
        try (EchoFixture echo = new EchoFixture(DeviceProfile.DEFAULT.withLegacy(LegacyPolicy.LE_ONLY));
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(INDIRECT, ALL_PROTOCOL);
            // CROSS_ENDIAN is offered so that a big-endian driver is refused with the profile's reason.
            assertThat(s.protocolFeatures() & ProtocolFeature.CROSS_ENDIAN.mask()).isNotZero();
            s.frontend().setVringNum(0, 64);
            s.frontend().setVringEndian(0, false);
            assertThatThrownBy(() -> s.frontend().setVringEndian(0, true)).isInstanceOf(VhostUserException.class);
            assertThat(echo.backend.refusals()).isEqualTo(1);
            assertThat(echo.backend.lastRefusal()).isEqualTo("legacy big-endian driver refused: profile --legacy le-only");
        }
    }

    @Test
    void legacyDriverIsRefusedWhenLegacyIsOff() throws Exception {
        try (EchoFixture echo = new EchoFixture(DeviceProfile.DEFAULT.withLegacy(LegacyPolicy.OFF));
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            assertThatThrownBy(() -> s.negotiate(INDIRECT, ALL_PROTOCOL))
                    .isInstanceOf(VhostUserException.class).hasMessageContaining("SET_FEATURES");
        }
    }

    @Test
    void theNextFrontEndIsServedAfterOneLeaves() throws Exception {
        try (EchoFixture echo = new EchoFixture()) {
            for (int i = 0; i < 3; i++) {
                try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
                    s.negotiate(VERSION_1, ALL_PROTOCOL);
                    s.setUpRing(0, 64, Endianness.LITTLE);
                }
                long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                while (echo.device.deactivations < i + 1) {
                    assertThat(System.nanoTime()).isLessThan(deadline);
                    Thread.sleep(5);
                }
            }
            assertThat(echo.endpoint.connections()).isEqualTo(3);
            assertThat(echo.device.activations).isEqualTo(3);
        }
    }
}

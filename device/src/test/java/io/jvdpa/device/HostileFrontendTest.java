package io.jvdpa.device;

import static io.jvdpa.device.RawPayload.state;
import static io.jvdpa.device.RawPayload.u64;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.Fd;
import io.jvdpa.sys.MemFd;
import io.jvdpa.sys.UnixSocket;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.Frontend;
import io.jvdpa.vhostuser.GuestRam;
import io.jvdpa.vhostuser.MemoryRegionSpec;
import io.jvdpa.vhostuser.Message;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.vhostuser.Request;
import io.jvdpa.vhostuser.VhostUserException;
import io.jvdpa.vhostuser.VringAddr;
import io.jvdpa.virtqueue.UsedBuffer;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A broken or hostile front-end: every malformed request is refused with a reason, the process carries on,
 * the next front-end is served, and nothing leaks.
 */
class HostileFrontendTest {
    private static final long VERSION_1 = 1L << 32;
    private static final long ALL_PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.values());

    private EchoFixture echo;

    @BeforeEach
    void setUp() throws Exception {
        echo = new EchoFixture();
    }

    @AfterEach
    void tearDown() throws Exception {
        echo.close();
    }

    /** A request the back-end must refuse; with REPLY_ACK it answers "failed", and the connection lives on. */
    record Bad(String name, int request, byte[] payload, int fds) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> badRequests() {
        byte[] tooManyRegions = ByteBuffer.allocate(8 + 32 * 9).order(ByteOrder.nativeOrder()).putInt(9).array();
        return Stream.of(
                new Bad("unknown request id", 99, new byte[0], 0),
                new Bad("SET_VRING_NUM 0", Request.SET_VRING_NUM.id, state(0, 0), 0),
                new Bad("SET_VRING_NUM not a power of two", Request.SET_VRING_NUM.id, state(0, 100), 0),
                new Bad("SET_VRING_NUM above 32768", Request.SET_VRING_NUM.id, state(0, 65536), 0),
                new Bad("SET_VRING_NUM for a queue that does not exist", Request.SET_VRING_NUM.id, state(99, 64), 0),
                new Bad("SET_VRING_NUM with a stray fd", Request.SET_VRING_NUM.id, state(0, 64), 1),
                new Bad("SET_VRING_NUM truncated", Request.SET_VRING_NUM.id, new byte[4], 0),
                new Bad("SET_VRING_ENDIAN 7", Request.SET_VRING_ENDIAN.id, state(0, 7), 0),
                new Bad("SET_VRING_KICK without fd or no-fd flag", Request.SET_VRING_KICK.id, u64(0), 0),
                new Bad("SET_VRING_CALL with unknown bits", Request.SET_VRING_CALL.id, u64(0x10000), 1),
                new Bad("SET_MEM_TABLE with 9 regions", Request.SET_MEM_TABLE.id, tooManyRegions, 0),
                new Bad("SET_MEM_TABLE with fewer fds than regions", Request.SET_MEM_TABLE.id, memTable(2), 1),
                new Bad("SET_MEM_TABLE with a zero-size region", Request.SET_MEM_TABLE.id, region(0, 0, 0x7000_0000L, 0), 1),
                new Bad("SET_MEM_TABLE region past the end of its file", Request.SET_MEM_TABLE.id,
                        region(0, 0x100000, 0x7000_0000L, 0), 1),
                new Bad("SET_MEM_TABLE region wrapping the address space", Request.SET_MEM_TABLE.id,
                        region(-0x1000, 0x2000, 0x7000_0000L, 0), 1),
                new Bad("SET_FEATURES with bits never offered", Request.SET_FEATURES.id, u64(1L << 63 | VERSION_1), 0),
                new Bad("SET_VRING_BASE for a queue that does not exist", Request.SET_VRING_BASE.id, state(2, 0), 0),
                new Bad("SET_VRING_ADDR with unknown flags", Request.SET_VRING_ADDR.id,
                        ByteBuffer.allocate(40).order(ByteOrder.nativeOrder()).putInt(0).putInt(2).array(), 0),
                new Bad("SET_CONFIG outside the config space", Request.SET_CONFIG.id,
                        ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putInt(300).putInt(4).array(), 0))
                .map(Arguments::of);
    }

    private static byte[] memTable(int n) {
        ByteBuffer b = ByteBuffer.allocate(8 + 32 * n).order(ByteOrder.nativeOrder()).putInt(n).putInt(0);
        for (int i = 0; i < n; i++) {
            b.putLong(i * 0x10000L).putLong(0x1000).putLong(0x7000_0000L + i * 0x10000L).putLong(0);
        }
        return b.array();
    }

    private static byte[] region(long gpa, long size, long uva, long offset) {
        return ByteBuffer.allocate(40).order(ByteOrder.nativeOrder()).putInt(1).putInt(0)
                .putLong(gpa).putLong(size).putLong(uva).putLong(offset).array();
    }

    /** With REPLY_ACK each bad request gets a failure status and the same connection goes on working. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void badRequestIsRefusedWithAFailureReply(Bad bad) throws Exception {
        try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 20); Fd small = MemFd.create("small", 0x10000)) {
            s.negotiate(VERSION_1, ALL_PROTOCOL);
            Frontend f = s.frontend();
            List<Fd> fds = bad.fds() == 0 ? List.of() : List.of(small);
            assertThat(f.sendRawForStatus(bad.request(), bad.payload(), fds)).as("failure status for %s", bad).isNotZero();
            // Still served: a whole ring works on the same connection.
            assertEchoWorks(s);
        }
    }

    /** Without a way to say "failed", the back-end closes the connection, then serves the next front-end. */
    @Test
    void badRequestWithoutReplyAckClosesTheConnection() throws Exception {
        try (Frontend f = Frontend.connect(echo.socket(), Duration.ofSeconds(5))) {
            f.getFeatures();
            f.sendRaw(Request.SET_VRING_NUM.id, 0, state(0, 3), List.of());
            assertThatThrownBy(f::getFeatures).isInstanceOfAny(VhostUserException.class, IOException.class);
        }
        try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(VERSION_1, ALL_PROTOCOL);
            assertEchoWorks(s);
        }
    }

    @Test
    void oversizedOrTruncatedMessagesCloseOnlyThatConnection() throws Exception {
        try (UnixSocket raw = UnixSocket.connect(echo.socket(), Duration.ofSeconds(5))) {
            // A header announcing 1 MiB of payload: refused before reading it; the connection closes.
            raw.send(segment(ByteBuffer.allocate(12).order(ByteOrder.nativeOrder()).putInt(Request.SET_FEATURES.id)
                    .putInt(1).putInt(1 << 20).array()));
            raw.setReceiveTimeout(Duration.ofSeconds(5));
            assertThat(raw.recv(Arena.ofAuto().allocate(16))).as("closed by the back-end").isZero();
        }
        try (UnixSocket raw = UnixSocket.connect(echo.socket(), Duration.ofSeconds(5))) {
            // Half a header, then gone; then a header whose payload never comes.
            raw.send(segment(new byte[] {1, 0, 0, 0, 1, 0}));
        }
        try (UnixSocket raw = UnixSocket.connect(echo.socket(), Duration.ofSeconds(5))) {
            raw.send(segment(ByteBuffer.allocate(12).order(ByteOrder.nativeOrder()).putInt(Request.SET_FEATURES.id)
                    .putInt(1).putInt(8).array()));
        }
        try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(VERSION_1, ALL_PROTOCOL);
            assertEchoWorks(s);
        }
        assertThat(echo.endpoint.connections()).isEqualTo(4);
    }

    private static MemorySegment segment(byte[] bytes) {
        return Arena.ofAuto().allocate(bytes.length).copyFrom(MemorySegment.ofArray(bytes));
    }

    @Test
    void ringOutsideGuestMemoryIsRefusedAtStart() throws Exception {
        try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 20); var kick = io.jvdpa.sys.EventFd.create()) {
            s.negotiate(VERSION_1, ALL_PROTOCOL);
            Frontend f = s.frontend();
            f.setVringNum(0, 256);
            f.setVringBase(0, 0);
            long end = s.ram().userAddr(io.jvdpa.vhostuser.GuestRam.GUEST_BASE) + s.ram().segment().byteSize();
            f.setVringAddr(new VringAddr(0, 0, end - 16, end - 16, end - 16, 0));
            assertThatThrownBy(() -> f.setVringKick(0, kick.fd())).isInstanceOf(VhostUserException.class);
            f.setVringAddr(new VringAddr(0, 0, 0xdead_0000L, 0xdead_1000L, 0xdead_2000L, 0));
            assertThatThrownBy(() -> f.setVringKick(0, kick.fd())).isInstanceOf(VhostUserException.class);
            assertEchoWorks(s);
        }
    }

    /** A guest that breaks its ring: that ring stops, the device asks for a reset, the others carry on. */
    @Test
    void brokenRingSetsNeedsResetAndSignalsTheErrorFd() throws Exception {
        try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 20); var err = io.jvdpa.sys.EventFd.create()) {
            s.negotiate(VERSION_1, ALL_PROTOCOL);
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            s.frontend().setVringErr(0, err.fd());
            // A buffer below guest RAM: outside every region the front-end gave.
            assertThat(r.queue().post(new long[] {0x1000, GuestRam.GUEST_BASE}, new int[] {8, 8}, 1, 1, 1)).isTrue();
            r.publishAndKick();
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (err.drain() == 0) {
                assertThat(System.nanoTime()).as("error fd signalled").isLessThan(deadline);
                Thread.sleep(5);
            }
            assertThat(s.frontend().getStatus() & 0x40).as("DEVICE_NEEDS_RESET").isNotZero();
            assertEchoWorks(s); // queue 1 is unaffected
        }
    }

    /** 1000 rounds of connect, abuse, disconnect: the same fds and mappings as before. */
    @Test
    void abuseLeaksNoFdsAndNoMappings() throws Exception {
        // Warm up once so lazily created resources (class loading, thread locals) are not counted as leaks.
        abuseOnce(0);
        Thread.sleep(100);
        long fdsBefore = countFds();
        long mapsBefore = countMaps();
        for (int i = 0; i < 1000; i++) {
            abuseOnce(i);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while ((countFds() != fdsBefore || countMaps() != mapsBefore) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(countFds()).as("open fds").isEqualTo(fdsBefore);
        assertThat(countMaps()).as("memfd mappings").isEqualTo(mapsBefore);
    }

    private void abuseOnce(int i) throws Exception {
        try (DriverSession s = DriverSession.connect(echo.socket(), 1 << 16)) {
            s.negotiate(VERSION_1, ALL_PROTOCOL);
            Frontend f = s.frontend();
            switch (i % 4) {
                case 0 -> s.setUpRing(0, 64, Endianness.LITTLE);
                case 1 -> assertThat(f.sendRawForStatus(Request.SET_MEM_TABLE.id, memTable(2), List.of(s.ram().fd())))
                        .isNotZero();
                case 2 -> {
                    s.setUpRing(0, 64, Endianness.LITTLE);
                    f.sendRaw(Request.SET_VRING_KICK.id, 0, u64(0), List.of(s.ram().fd(), s.ram().fd()));
                }
                default -> f.sendRaw(Request.SET_VRING_CALL.id, 0, u64(1), List.of(s.ram().fd()));
            }
        }
    }

    private static long countFds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static long countMaps() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains("memfd:")).count();
    }

    private static void assertEchoWorks(DriverSession s) throws Exception {
        DriverRing r = s.setUpRing(1, 64, Endianness.LITTLE);
        long out = s.ram().allocate(8, 16);
        long in = s.ram().allocate(8, 16);
        s.ram().at(out, 8).set(ValueLayout.JAVA_INT_UNALIGNED, 0, 41);
        assertThat(r.queue().post(new long[] {out, in}, new int[] {8, 8}, 1, 1, 7)).isTrue();
        r.publishAndKick();
        r.awaitUsed(new UsedBuffer(), Duration.ofSeconds(5));
        assertThat(s.ram().at(in, 4).get(ValueLayout.JAVA_INT_UNALIGNED, 0)).isEqualTo(42);
    }
}

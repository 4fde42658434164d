package io.jvdpa.device;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.Fd;
import io.jvdpa.sys.MemFd;
import io.jvdpa.sys.Mapping;
import io.jvdpa.sys.UnixServerSocket;
import io.jvdpa.vhostuser.BackendEndpoint;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.GuestRam;
import io.jvdpa.vhostuser.MemoryRegionSpec;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.vhostuser.VringAddr;
import io.jvdpa.virtqueue.UsedBuffer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The framework's other ways of running: busy-poll workers, client mode, dirty logging for migration. */
class FrameworkModesTest {
    private static final long VERSION_1 = 1L << 32;
    private static final long LOG_ALL = 1L << 26;
    private static final long RING_PACKED = 1L << 34;
    private static final long ALL_PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.values());

    @Test
    void pollModeServesWithoutKicks() throws Exception {
        try (EchoFixture echo = new EchoFixture(new EchoDevice(), DeviceProfile.DEFAULT, true);
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(VERSION_1, ALL_PROTOCOL);
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            for (int i = 0; i < 100; i++) {
                // Publish but never kick: the worker must find the buffers by itself.
                roundTrip(s, r, i, false);
            }
        }
    }

    @Test
    void clientModeConnectsToAListeningFrontEndAndReconnects() throws Exception {
        Path dir = Files.createTempDirectory("jvdpa-client");
        Path path = dir.resolve("frontend.sock");
        try (Worker worker = new Worker("client-worker", false);
             UnixServerSocket frontEnd = UnixServerSocket.bind(path);
             BackendEndpoint endpoint = BackendEndpoint.connect(path,
                     new DeviceBackend("echo0", new EchoDevice(), DeviceProfile.DEFAULT, new Worker[] {worker}), "echo0")) {
            for (int round = 0; round < 2; round++) {
                try (DriverSession s = DriverSession.over(frontEnd.accept(Duration.ofSeconds(10)), 1 << 20)) {
                    s.negotiate(VERSION_1, ALL_PROTOCOL);
                    DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
                    roundTrip(s, r, round, true);
                }
            }
            assertThat(endpoint.connections()).isGreaterThanOrEqualTo(2);
        } finally {
            Files.deleteIfExists(path);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void writesToBuffersAndTheUsedRingAreLoggedWhileMigrating() throws Exception {
        long logSize = 8192; // covers 256 MiB of guest-physical space... from address 0
        long ramPages = (GuestRam.GUEST_BASE >>> 12) + 256;
        logSize = ramPages / 8 + 1;
        try (EchoFixture echo = new EchoFixture();
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20);
             Fd logFd = MemFd.create("dirty-log", logSize);
             Mapping log = Mapping.map(logFd, 0, logSize)) {
            s.negotiate(VERSION_1 | LOG_ALL, ALL_PROTOCOL);
            s.frontend().setLogBase(logSize, 0, logFd);
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            long in = roundTrip(s, r, 5, true);
            BitSet dirty = BitSet.valueOf(log.segment().toArray(ValueLayout.JAVA_BYTE));
            assertThat(dirty.get((int) (in >>> 12))).as("page of the written buffer").isTrue();
            // Log the used ring at the address the front-end gives for it (VHOST_VRING_F_LOG).
            assertThat(dirty.cardinality()).isGreaterThanOrEqualTo(2);
            long bufferPages = dirty.cardinality();
            assertThat(bufferPages).isLessThan(8);
        }
    }

    /**
     * QEMU turns logging on for migration while the rings run: LOG_ALL in SET_FEATURES, then SET_VRING_ADDR with
     * the log flag. The ring a device holds (as the net device does) must stay the ring whose writes are logged
     * and whose position GET_VRING_BASE reports at the end.
     */
    @ParameterizedTest(name = "{0} ring")
    @CsvSource({"split", "packed"})
    void loggingTurnedOnWhileTheRingRunsKeepsTheRingTheDeviceHolds(String ring) throws Exception {
        boolean packed = ring.equals("packed");
        long logSize = ((GuestRam.GUEST_BASE >>> 12) + 256) / 8 + 1;
        try (EchoFixture echo = new EchoFixture(new EchoDevice(true), DeviceProfile.DEFAULT);
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20);
             Fd logFd = MemFd.create("dirty-log", logSize);
             Mapping log = Mapping.map(logFd, 0, logSize)) {
            s.negotiate(VERSION_1 | (packed ? RING_PACKED : 0), ALL_PROTOCOL);
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            for (int i = 0; i < 5; i++) {
                roundTrip(s, r, i, true);
            }
            s.startDirtyLog(logFd, logSize);
            long in = 0;
            for (int i = 5; i < 10; i++) {
                in = roundTrip(s, r, i, true);
            }
            BitSet dirty = BitSet.valueOf(log.segment().toArray(ValueLayout.JAVA_BYTE));
            assertThat(dirty.get((int) (in >>> 12))).as("page of a buffer written after logging began").isTrue();
            // Split: the next avail index; packed: the next descriptor position (two descriptors per request).
            assertThat(s.frontend().getVringBase(0) & 0x7fff).isEqualTo(packed ? 20 : 10);
        }
    }

    /**
     * A front-end may send a new memory table while the rings run (memory hot-plug, a front-end without
     * CONFIGURE_MEM_SLOTS). Regions it sends again unchanged keep their mapping; the others are mapped anew and the
     * old mappings unmapped, so the ring a device holds must move onto the new ones where it stands, and stay the
     * ring GET_VRING_BASE reports on.
     */
    @ParameterizedTest(name = "{0} ring")
    @CsvSource({"split", "packed"})
    void aNewMemoryTableWhileTheRingRunsKeepsTheRingTheDeviceHolds(String ring) throws Exception {
        boolean packed = ring.equals("packed");
        try (EchoFixture echo = new EchoFixture(new EchoDevice(true), DeviceProfile.DEFAULT);
             DriverSession s = DriverSession.connect(echo.socket(), 1 << 20)) {
            s.negotiate(VERSION_1 | (packed ? RING_PACKED : 0), ALL_PROTOCOL);
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            for (int i = 0; i < 5; i++) {
                roundTrip(s, r, i, true);
            }
            MemoryRegionSpec whole = s.ram().region();
            s.frontend().setMemTable(List.of(whole), List.of(s.ram().fd()));
            for (int i = 5; i < 10; i++) {
                roundTrip(s, r, i, true);
            }
            // The same bytes as two regions: nothing is kept, the ring is in the first of them.
            long half = whole.size() / 2;
            s.frontend().setMemTable(List.of(
                    new MemoryRegionSpec(whole.guestPhysAddr(), half, whole.userAddr(), 0),
                    new MemoryRegionSpec(whole.guestPhysAddr() + half, half, whole.userAddr() + half, half)),
                    List.of(s.ram().fd(), s.ram().fd()));
            for (int i = 10; i < 15; i++) {
                roundTrip(s, r, i, true);
            }
            // Split: the next avail index; packed: the next descriptor position (two descriptors per request).
            assertThat(s.frontend().getVringBase(0) & 0x7fff).isEqualTo(packed ? 30 : 15);
        }
    }

    /** One request through the echo device; returns the guest-physical address of the reply buffer. */
    private static long roundTrip(DriverSession s, DriverRing r, int value, boolean kick) throws Exception {
        long out = s.ram().allocate(8, 16);
        long in = s.ram().allocate(8, 4096);
        s.ram().at(out, 4).set(ValueLayout.JAVA_INT_UNALIGNED, 0, value);
        assertThat(r.queue().post(new long[] {out, in}, new int[] {4, 8}, 1, 1, value)).isTrue();
        if (kick) {
            r.publishAndKick();
        } else {
            r.queue().publish();
        }
        r.awaitUsed(new UsedBuffer(), Duration.ofSeconds(5));
        MemorySegment reply = s.ram().at(in, 4);
        assertThat(reply.get(ValueLayout.JAVA_INT_UNALIGNED, 0)).isEqualTo(value + 1);
        return in;
    }
}

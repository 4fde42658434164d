package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
class TapTest {
    private static final AtomicInteger SERIAL = new AtomicInteger();
    private static final java.lang.foreign.ValueLayout.OfShort BE16 = JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final java.lang.foreign.ValueLayout.OfInt BE32 = JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int VNET = 12;
    private static final byte[] OUR_MAC = HexFormat.ofDelimiter(":").parseHex("02:6a:76:64:70:61");
    /** TEST-NET-1 addresses, only ever inside the namespace the test makes. */
    private static final int HOST_IP = 0xc0000201; // 192.0.2.1, the namespace's end
    private static final int OUR_IP = 0xc0000202; // 192.0.2.2, the frames we write
    /** The ethtool names of the features TUN_F_CSUM, TUN_F_TSO4 and TUN_F_TSO6 turn on. */
    private static final String CSUM = "tx-checksum-ip-generic";
    private static final String TSO4 = "tx-tcp-segmentation";
    private static final String TSO6 = "tx-tcp6-segmentation";

    private static String uniqueName() {
        return "jvt" + ProcessHandle.current().pid() % 100_000 + "x" + SERIAL.incrementAndGet();
    }

    @Test
    void deviceIsCreatedBroughtUpAndGoneAfterClose() throws Exception {
        String name = uniqueName();
        Path sys = Path.of("/sys/class/net", name);
        try (Tap tap = Tap.open(name)) {
            assertThat(tap.name()).isEqualTo(name);
            assertThat(sys).exists();
            assertThat(Files.readString(sys.resolve("tun_flags")).trim()).isEqualTo("0x5002"); // TAP|NO_PI|VNET_HDR
            assertThat(tap.isUp()).isFalse();
            tap.setNonBlocking(true);
            try (Arena arena = Arena.ofConfined()) {
                assertThat(tap.read(arena.allocate(2048))).isEqualTo(-1); // a down link sends us nothing
            }
            tap.up();
            assertThat(tap.isUp()).isTrue();
            assertThat(Integer.decode(Files.readString(sys.resolve("flags")).trim()) & 1).isEqualTo(1);
            tap.setMtu(9000);
            assertThat(tap.mtu()).isEqualTo(9000);
            tap.setVnetHeaderSize(10);
            assertThat(tap.vnetHeaderSize()).isEqualTo(10);
            tap.setUp(false);
            assertThat(tap.isUp()).isFalse();
        }
        assertThat(sys).doesNotExist();
    }

    @Test
    void offloadsReachTheDevice() throws Exception {
        try (Tap tap = Tap.open(uniqueName())) {
            // A new device takes neither: the host checksums and segments every frame before handing it to us.
            assertThat(offloads(tap)).containsEntry(CSUM, false).containsEntry(TSO4, false).containsEntry(TSO6, false);
            tap.setOffload(Tap.TUN_F_CSUM | Tap.TUN_F_TSO4 | Tap.TUN_F_TSO6);
            assertThat(offloads(tap)).containsEntry(CSUM, true).containsEntry(TSO4, true).containsEntry(TSO6, true)
                    .containsEntry("tx-tcp-ecn-segmentation", false);
            tap.setOffload(Tap.TUN_F_CSUM | Tap.TUN_F_TSO6);
            assertThat(offloads(tap)).containsEntry(CSUM, true).containsEntry(TSO4, false).containsEntry(TSO6, true);
            tap.setOffload(0);
            assertThat(offloads(tap)).containsEntry(CSUM, false).containsEntry(TSO4, false).containsEntry(TSO6, false);
        }
    }

    /** The device's active features from {@code ethtool -k}: "name: on" or "name: off [requested on]". */
    private static Map<String, Boolean> offloads(Tap tap) throws Exception {
        Map<String, Boolean> features = new HashMap<>();
        for (String line : Command.run("ethtool", "-k", tap.name()).lines().toList()) {
            String[] parts = line.trim().split(":\\s+");
            if (parts.length == 2) features.put(parts[0], parts[1].startsWith("on"));
        }
        return features;
    }

    @Test
    void kernelPicksANameWhenNoneIsGiven() throws Exception {
        try (Tap tap = Tap.open(null, 0, false)) {
            assertThat(tap.name()).matches("tap\\d+");
            assertThat(Files.readString(Path.of("/sys/class/net", tap.name(), "tun_flags")).trim()).isEqualTo("0x1002");
        }
    }

    @Test
    void badArgumentsAreRefusedClearly() throws Exception {
        assertThatThrownBy(() -> Tap.open("a-name-far-too-long")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("15 bytes");
        assertThatThrownBy(() -> Tap.open("x", 11, false)).isInstanceOf(IllegalArgumentException.class);
        try (Tap tap = Tap.open(uniqueName())) {
            assertThatThrownBy(() -> Tap.open(tap.name())) // a single-queue device has room for one user
                    .isInstanceOfSatisfying(LinuxException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBUSY))
                    .hasMessageContaining("TUNSETIFF").hasMessageContaining(tap.name());
        }
    }

    @Test
    void framesGoBothWaysThroughTheHostStack() throws Exception {
        String name = uniqueName();
        String netns = "jvdpa-" + name;
        Command.run("ip", "netns", "add", netns);
        try (Tap tap = Tap.open(name); Arena arena = Arena.ofConfined()) {
            tap.setNonBlocking(true);
            Command.run("ip", "link", "set", name, "netns", netns);
            Command.run("ip", "-n", netns, "addr", "add", "192.0.2.1/24", "dev", name);
            Command.run("ip", "-n", netns, "link", "set", name, "up");
            long rxBefore = rxPackets(netns, name);

            // A datagram to 192.0.2.2 makes the namespace's stack ask for its MAC address on the TAP.
            Command.run("ip", "netns", "exec", netns, "bash", "-c", "echo jvdpa > /dev/udp/192.0.2.2/9");
            MemorySegment frame = arena.allocate(2048);
            int length = readUntil(tap, frame, TapTest::isArpRequestForUs);
            assertThat(length).isGreaterThanOrEqualTo(VNET + 14 + 28);
            byte[] hostMac = frame.asSlice(VNET + 6, 6).toArray(JAVA_BYTE);

            MemorySegment reply = arena.allocate(VNET + 14 + 28); // zero vnet header: no offload asked
            arpReply(reply.asSlice(VNET), hostMac);
            assertThat(tap.write(reply)).isEqualTo((int) reply.byteSize());

            // The stack accepted our answer: it now sends the waiting datagram to our MAC.
            length = readUntil(tap, frame, f -> f.get(BE16, VNET + 12) == 0x0800 && f.get(JAVA_BYTE, VNET + 14 + 9) == 17);
            assertThat(frame.asSlice(VNET, 6).toArray(JAVA_BYTE)).isEqualTo(OUR_MAC);
            assertThat(frame.get(BE32, VNET + 14 + 16)).isEqualTo(OUR_IP);
            assertThat(frame.get(BE16, VNET + 14 + 20 + 2)).isEqualTo((short) 9);
            assertThat(rxPackets(netns, name)).isEqualTo(rxBefore + 1);
            assertThat(Command.run("ip", "-n", netns, "neigh", "show", "192.0.2.2"))
                    .contains(HexFormat.ofDelimiter(":").formatHex(OUR_MAC));
        } finally {
            Command.run("ip", "netns", "del", netns);
        }
    }

    @Test
    void scatteredWriteAndReadUseIoVec() throws Exception {
        String name = uniqueName();
        String netns = "jvdpa-" + name;
        Command.run("ip", "netns", "add", netns);
        try (Tap tap = Tap.open(name); Arena arena = Arena.ofConfined()) {
            tap.setNonBlocking(true);
            Command.run("ip", "link", "set", name, "netns", netns);
            Command.run("ip", "-n", netns, "addr", "add", "192.0.2.1/24", "dev", name);
            Command.run("ip", "-n", netns, "link", "set", name, "up");
            Command.run("ip", "netns", "exec", netns, "bash", "-c", "echo jvdpa > /dev/udp/192.0.2.2/9");
            MemorySegment header = arena.allocate(VNET);
            MemorySegment body = arena.allocate(2048);
            IoVec iov = new IoVec(4);
            int length;
            do {
                iov.clear().add(header).add(body);
                length = awaitRead(tap, () -> tap.read(iov));
            } while (!isArpRequestForUs(joined(arena, header, body, length)));
            byte[] hostMac = body.asSlice(6, 6).toArray(JAVA_BYTE);
            MemorySegment reply = arena.allocate(14 + 28);
            arpReply(reply, hostMac);
            iov.clear().add(arena.allocate(VNET)).add(reply, 0, 14).add(reply, 14, 28);
            assertThat(tap.write(iov)).isEqualTo(VNET + 14 + 28);
            assertThat(iov.byteSize()).isEqualTo(VNET + 14 + 28);
            assertThatThrownBy(() -> iov.add(reply, 30, 20)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThat(Command.run("ip", "-n", netns, "neigh", "show", "192.0.2.2"))
                    .contains(HexFormat.ofDelimiter(":").formatHex(OUR_MAC));
        } finally {
            Command.run("ip", "netns", "del", netns);
        }
    }

    @Test
    void thousandOpenCloseCyclesOnAnExistingDeviceLeakNothing() throws Exception {
        String name = uniqueName();
        Command.run("ip", "tuntap", "add", "dev", name, "mode", "tap", "vnet_hdr");
        try {
            try (Tap tap = Tap.open(name)) {
                tap.up();
            }
            long before = ProcSelf.openFds();
            for (int i = 0; i < 1000; i++) {
                try (Tap tap = Tap.open(name)) {
                    tap.setOffload(Tap.TUN_F_CSUM);
                }
            }
            assertThat(ProcSelf.openFds()).isEqualTo(before);
            assertThat(Path.of("/sys/class/net", name)).exists(); // an existing device is reused, not removed
        } finally {
            Command.run("ip", "tuntap", "del", "dev", name, "mode", "tap");
        }
    }

    private interface Read {
        int read() throws LinuxException;
    }

    private static int awaitRead(Tap tap, Read read) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            int n = read.read();
            if (n > 0) return n;
            Poll.await(tap.fd().value(), Poll.POLLIN, 100);
        }
        throw new AssertionError("no frame from the TAP within 10 s");
    }

    private static int readUntil(Tap tap, MemorySegment frame, java.util.function.Predicate<MemorySegment> wanted)
            throws Exception {
        while (true) {
            int n = awaitRead(tap, () -> tap.read(frame));
            if (wanted.test(frame.asSlice(0, n))) return n;
        }
    }

    private static MemorySegment joined(Arena arena, MemorySegment header, MemorySegment body, int length) {
        MemorySegment all = arena.allocate(Math.max(length, VNET));
        MemorySegment.copy(header, 0, all, 0, VNET);
        if (length > VNET) MemorySegment.copy(body, 0, all, VNET, length - VNET);
        return all;
    }

    private static boolean isArpRequestForUs(MemorySegment f) {
        return f.byteSize() >= VNET + 14 + 28 && f.get(BE16, VNET + 12) == 0x0806
                && f.get(BE16, VNET + 14 + 6) == 1 && f.get(BE32, VNET + 14 + 24) == OUR_IP;
    }

    /** An Ethernet ARP reply (no vnet header) telling {@code hostMac} that 192.0.2.2 is at OUR_MAC. */
    private static void arpReply(MemorySegment f, byte[] hostMac) {
        MemorySegment.copy(hostMac, 0, f, JAVA_BYTE, 0, 6);
        MemorySegment.copy(OUR_MAC, 0, f, JAVA_BYTE, 6, 6);
        f.set(BE16, 12, (short) 0x0806);
        f.set(BE16, 14, (short) 1); // hardware: Ethernet
        f.set(BE16, 16, (short) 0x0800); // protocol: IPv4
        f.set(JAVA_BYTE, 18, (byte) 6);
        f.set(JAVA_BYTE, 19, (byte) 4);
        f.set(BE16, 20, (short) 2); // reply
        MemorySegment.copy(OUR_MAC, 0, f, JAVA_BYTE, 22, 6);
        f.set(BE32, 28, OUR_IP);
        MemorySegment.copy(hostMac, 0, f, JAVA_BYTE, 32, 6);
        f.set(BE32, 38, HOST_IP);
    }

    private static long rxPackets(String netns, String name) throws Exception {
        return Long.parseLong(Command.run("ip", "netns", "exec", netns, "cat",
                "/sys/class/net/" + name + "/statistics/rx_packets").trim());
    }
}

package io.jvdpa.sys;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@SuppressWarnings("try") // resources held open only for their effect
@Timeout(30)
class UnixSocketTest {
    private final Arena arena = Arena.ofAuto();

    private MemorySegment bytes(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        MemorySegment s = arena.allocate(b.length);
        MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, 0, b.length);
        return s;
    }

    private static String text(MemorySegment s, int length) {
        return new String(s.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    @Test
    void memfdPassedWithinOneProcessIsUsable() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]; ReceivedFds fds = new ReceivedFds();
             Fd memfd = MemFd.create("passed", 4096); Mapping sent = Mapping.map(memfd, 0, 4096)) {
            sent.segment().setString(0, "through the socket");
            a.send(bytes("hello"), memfd.value());
            MemorySegment into = arena.allocate(64);
            assertThat(b.recv(into, fds)).isEqualTo(5);
            assertThat(text(into, 5)).isEqualTo("hello");
            assertThat(fds.count()).isEqualTo(1);
            assertThat(fds.peek(0)).isNotEqualTo(memfd.value());
            try (Fd received = fds.take(0); Mapping mapping = Mapping.map(received, 0, 4096)) {
                assertThat(received.size()).isEqualTo(4096);
                assertThat(mapping.segment().getString(0)).isEqualTo("through the socket");
                mapping.segment().setString(0, "and back");
                assertThat(sent.segment().getString(0)).isEqualTo("and back");
            }
            assertThatThrownBy(() -> fds.take(0)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Property(tries = 60)
    void anyMessageAndDescriptorsArriveIntact(@ForAll @Size(min = 1, max = 65536) byte[] message,
                                              @ForAll @IntRange(min = 0, max = 8) int fdCount) throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        List<Fd> sent = new ArrayList<>();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]; ReceivedFds fds = new ReceivedFds();
             Arena local = Arena.ofConfined()) {
            for (int i = 0; i < fdCount; i++) sent.add(MemFd.create("prop", 4096L * (i + 1)));
            MemorySegment out = local.allocate(message.length);
            MemorySegment.copy(message, 0, out, ValueLayout.JAVA_BYTE, 0, message.length);
            a.send(out, sent.stream().mapToInt(Fd::value).toArray());
            MemorySegment in = local.allocate(message.length);
            assertThat(b.recvExactly(in, fds)).isTrue();
            assertThat(in.mismatch(out)).isEqualTo(-1);
            assertThat(fds.count()).isEqualTo(fdCount);
            for (int i = 0; i < fdCount; i++) {
                Stat theirs = Stat.of(fds.peek(i));
                Stat ours = Stat.of(sent.get(i).value());
                assertThat(theirs.inode()).isEqualTo(ours.inode());
                assertThat(theirs.size()).isEqualTo(4096L * (i + 1));
            }
        } finally {
            sent.forEach(Fd::close);
        }
    }

    @Test
    void eightDescriptorsTravelInOneMessage() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        List<Fd> sent = new ArrayList<>();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]; ReceivedFds fds = new ReceivedFds()) {
            int[] numbers = new int[UnixSocket.MAX_FDS];
            for (int i = 0; i < numbers.length; i++) {
                Fd fd = MemFd.create("eight", 4096L * (i + 1));
                sent.add(fd);
                numbers[i] = fd.value();
            }
            a.send(bytes("x"), numbers);
            assertThat(b.recv(arena.allocate(1), fds)).isEqualTo(1);
            assertThat(fds.count()).isEqualTo(8);
            for (int i = 0; i < 8; i++) {
                try (Fd fd = fds.take(i)) {
                    assertThat(fd.size()).isEqualTo(4096L * (i + 1));
                }
            }
            assertThatThrownBy(() -> a.send(bytes("x"), new int[9])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("at most 8");
        } finally {
            sent.forEach(Fd::close);
        }
    }

    @Test
    void memfdPassedBetweenTwoProcessesIsUsableBothWays(@TempDir Path dir) throws Exception {
        Path path = dir.resolve("peer.sock");
        try (UnixServerSocket server = UnixServerSocket.bind(path);
             Fd ours = MemFd.create("parent", 4096); Mapping ourMap = Mapping.map(ours, 0, 4096);
             ReceivedFds fds = new ReceivedFds()) {
            Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    FdPassingPeer.class.getName(), path.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
            try (UnixSocket connection = server.accept()) {
                assertThat(connection.peerCredentials().pid()).isEqualTo(child.pid());
                MemorySegment header = arena.allocate(8);
                header.set(ValueLayout.JAVA_LONG, 0, 4096);
                connection.send(header, ours.value());
                assertThat(connection.recvExactly(header, fds)).isTrue();
                assertThat(fds.count()).isEqualTo(1);
                try (Fd theirs = fds.take(0); Mapping theirMap = Mapping.map(theirs, 0, 4096)) {
                    assertThat(theirMap.segment().getString(0)).isEqualTo("memfd of pid " + child.pid());
                }
                assertThat(ourMap.segment().getString(0)).isEqualTo("written by pid " + child.pid());
                connection.send(header);
            }
            assertThat(child.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(child.exitValue()).as(Files.readString(dir.resolve("child.log"))).isZero();
        }
    }

    @Test
    void tooManyDescriptorsAreAllClosedAndReported() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]; ReceivedFds fds = new ReceivedFds(2)) {
            List<Fd> sent = new ArrayList<>();
            for (int i = 0; i < 5; i++) sent.add(MemFd.create("ctrunc", 0));
            long before = ProcSelf.openFds();
            a.send(bytes("12345"), sent.stream().mapToInt(Fd::value).toArray());
            assertThatThrownBy(() -> b.recv(arena.allocate(16), fds))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("MSG_CTRUNC").hasMessageContaining("closed the 2 received");
            assertThat(fds.count()).isZero();
            assertThat(ProcSelf.openFds()).isEqualTo(before);
            sent.forEach(Fd::close);
        }
    }

    @Test
    void descriptorsNobodyAskedForAreClosed() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]; Fd memfd = MemFd.create("unasked", 0)) {
            long before = ProcSelf.openFds();
            a.send(bytes("abc"), memfd.value(), memfd.value());
            assertThat(b.recv(arena.allocate(3))).isEqualTo(3);
            assertThat(ProcSelf.openFds()).isEqualTo(before);
        }
    }

    @Test
    void exactReadLoopsOverShortReadsAndReportsEof() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]) {
            MemorySegment twelve = arena.allocate(12);
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    a.send(bytes("abcd"));
                    Thread.sleep(50);
                    a.send(bytes("efghijkl"));
                    Thread.sleep(50);
                    a.send(bytes("1234567"));
                    a.shutdownOutput();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            assertThat(b.recvExactly(twelve, null)).isTrue();
            assertThat(text(twelve, 12)).isEqualTo("abcdefghijkl");
            assertThatThrownBy(() -> b.recvExactly(twelve, null)).isInstanceOf(EOFException.class)
                    .hasMessage("peer closed after 7 of 12 bytes");
            writer.join();
            assertThat(b.recvExactly(twelve, null)).isFalse();
        }
    }

    @Test
    void largeMessagesArriveWhole() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]) {
            int size = 4 << 20;
            MemorySegment out = arena.allocate(size);
            for (int i = 0; i < size; i += 4) out.set(ValueLayout.JAVA_INT, i, i);
            MemorySegment in = arena.allocate(size);
            CompletableFuture<Boolean> reader = CompletableFuture.supplyAsync(() -> {
                try {
                    return b.recvExactly(in, null);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            a.send(out);
            assertThat(reader.get(20, TimeUnit.SECONDS)).isTrue();
            assertThat(in.mismatch(out)).isEqualTo(-1);
        }
    }

    @Test
    void receiveTimeoutAndNonBlockingMode() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]) {
            b.setReceiveTimeout(Duration.ofMillis(100));
            long start = System.nanoTime();
            assertThatThrownBy(() -> b.recv(arena.allocate(4))).isInstanceOf(SocketTimeoutException.class)
                    .hasMessageContaining("100 ms");
            assertThat(System.nanoTime() - start).isBetween(80_000_000L, 2_000_000_000L);
            b.setReceiveTimeout(Duration.ZERO);
            b.setNonBlocking(true);
            assertThat(b.recv(arena.allocate(4))).isEqualTo(-1);
            a.send(bytes("ok"));
            assertThat(b.recv(arena.allocate(4))).isEqualTo(2);
            b.setNonBlocking(false);
        }
    }

    @Test
    void shutdownWakesABlockedReceiver() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]) {
            UnixSocket b = pair[1];
            CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
                try {
                    return b.recv(Arena.ofAuto().allocate(4));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(100);
            assertThat(reader).isNotDone();
            b.shutdown();
            assertThat(reader.get(5, TimeUnit.SECONDS)).isZero();
            b.close();
            assertThat(b.isOpen()).isFalse();
            b.close();
        }
    }

    @Test
    void closingOurCopyOfASentSocketLeavesTheReceiversCopyWorking() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        UnixSocket[] carrier = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket c0 = carrier[0]; UnixSocket c1 = carrier[1];
             ReceivedFds fds = new ReceivedFds()) {
            c0.send(bytes("s"), pair[1].fd().value());
            pair[1].close();
            c1.recv(arena.allocate(1), fds);
            try (UnixSocket handedOver = UnixSocket.adopt(fds.take(0))) {
                a.send(bytes("still here"));
                MemorySegment into = arena.allocate(10);
                assertThat(handedOver.recvExactly(into, null)).isTrue();
                assertThat(text(into, 10)).isEqualTo("still here");
            }
        }
    }

    @Test
    void sendToClosedPeerIsEpipeNotASignal() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]) {
            pair[1].close();
            assertThatThrownBy(() -> a.send(bytes("x")))
                    .isInstanceOfSatisfying(LinuxException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPIPE))
                    .hasMessageStartingWith("sendmsg(");
        }
    }

    @Test
    void peerCredentialsAreOurs() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]) {
            PeerCredentials cred = b.peerCredentials();
            assertThat(cred.pid()).isEqualTo(ProcessHandle.current().pid());
            assertThat(cred.uid()).isEqualTo(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
            assertThat(cred.gid()).isEqualTo(Files.getAttribute(Path.of("/proc/self"), "unix:gid"));
        }
    }

    @Test
    void thousandPairsAndTransfersLeakNothing() throws Exception {
        cycle();
        long before = ProcSelf.openFds();
        for (int i = 0; i < 1000; i++) cycle();
        assertThat(ProcSelf.openFds()).isEqualTo(before);
    }

    private void cycle() throws IOException {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]; Fd memfd = MemFd.create("loop", 0);
             ReceivedFds fds = new ReceivedFds()) {
            a.send(bytes("x"), memfd.value(), memfd.value());
            b.recv(arena.allocate(1), fds);
            fds.take(1).close();
        }
    }
}

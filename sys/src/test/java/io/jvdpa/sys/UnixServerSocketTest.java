package io.jvdpa.sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.AsynchronousCloseException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@SuppressWarnings("try") // resources held open only for their effect
@Timeout(30)
class UnixServerSocketTest {
    @TempDir
    Path dir;

    private static String permissions(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void socketFileIsPrivateByDefaultAndRemovedOnClose() throws Exception {
        Path path = dir.resolve("s.sock");
        try (UnixServerSocket server = UnixServerSocket.bind(path)) {
            assertThat(Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()).isTrue();
            assertThat(permissions(path)).isEqualTo("rw-------");
            try (UnixSocket client = UnixSocket.connect(path); UnixSocket accepted = server.accept()) {
                MemorySegment one = Arena.ofAuto().allocate(1);
                client.send(one);
                assertThat(accepted.recv(one)).isEqualTo(1);
            }
        }
        assertThat(Files.exists(path, LinkOption.NOFOLLOW_LINKS)).isFalse();
    }

    @Test
    void modeIsConfigurable() throws Exception {
        Path path = dir.resolve("g.sock");
        try (UnixServerSocket server = UnixServerSocket.bind(path, 0660)) {
            assertThat(permissions(path)).isEqualTo("rw-rw----");
        }
    }

    @Test
    void refusesToReplaceARegularFile() throws Exception {
        Path path = dir.resolve("data");
        Files.writeString(path, "precious");
        assertThatThrownBy(() -> UnixServerSocket.bind(path)).isInstanceOf(FileAlreadyExistsException.class)
                .hasMessageContaining("regular file").hasMessageContaining(path.toString());
        assertThat(Files.readString(path)).isEqualTo("precious");
        Path subdir = Files.createDirectory(dir.resolve("subdir"));
        assertThatThrownBy(() -> UnixServerSocket.bind(subdir)).isInstanceOf(FileAlreadyExistsException.class)
                .hasMessageContaining("directory");
    }

    @Test
    void replacesAStaleSocketButNotALiveOne() throws Exception {
        Path path = dir.resolve("stale.sock");
        UnixServerSocket first = UnixServerSocket.bind(path);
        assertThatThrownBy(() -> UnixServerSocket.bind(path))
                .isInstanceOfSatisfying(LinuxException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EADDRINUSE));
        // A server that died without cleaning up leaves its socket file behind: simulate by closing the
        // descriptor only.
        first.fd().close();
        assertThat(Files.exists(path, LinkOption.NOFOLLOW_LINKS)).isTrue();
        try (UnixServerSocket second = UnixServerSocket.bind(path); UnixSocket client = UnixSocket.connect(path);
             UnixSocket accepted = second.accept()) {
            assertThat(accepted.peerCredentials().pid()).isEqualTo(ProcessHandle.current().pid());
        }
        first.close(); // the path is now someone else's history; closing must not fail
    }

    @Test
    void closeLeavesAFileThatReplacedTheSocket() throws Exception {
        Path path = dir.resolve("replaced.sock");
        UnixServerSocket server = UnixServerSocket.bind(path);
        Files.delete(path);
        Files.writeString(path, "someone else's");
        server.close();
        assertThat(Files.readString(path)).isEqualTo("someone else's");
    }

    @Test
    void connectRetriesUntilTheServerAppears() throws Exception {
        Path path = dir.resolve("late.sock");
        CompletableFuture<UnixSocket> client = CompletableFuture.supplyAsync(() -> {
            try {
                return UnixSocket.connect(path, Duration.ofSeconds(10));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(300);
        assertThat(client).isNotDone();
        try (UnixServerSocket server = UnixServerSocket.bind(path); UnixSocket accepted = server.accept();
             UnixSocket connected = client.get(5, TimeUnit.SECONDS)) {
            assertThat(connected.peerCredentials().pid()).isEqualTo(ProcessHandle.current().pid());
        }
    }

    @Test
    void connectGivesUpAfterItsTimeout() {
        Path path = dir.resolve("never.sock");
        long start = System.nanoTime();
        assertThatThrownBy(() -> UnixSocket.connect(path, Duration.ofMillis(300)))
                .isInstanceOfSatisfying(LinuxException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT))
                .hasMessageContaining(path.toString())
                // Backing off from 10 ms leaves room for about six attempts in 300 ms; a fixed 10 ms would make 30.
                .hasMessageMatching(".*gave up after [2-7] attempts in 300 ms.*");
        long elapsed = System.nanoTime() - start;
        assertThat(elapsed).isBetween(250_000_000L, 2_000_000_000L);
        assertThatThrownBy(() -> UnixSocket.connect(path))
                .isInstanceOfSatisfying(LinuxException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
    }

    @Test
    void retryIntervalDoublesUpToHalfASecond() {
        assertThat(IntStream.rangeClosed(1, 8).mapToObj(UnixSocket::retryDelay).map(Duration::toMillis))
                .containsExactly(10L, 20L, 40L, 80L, 160L, 320L, 500L, 500L);
        assertThat(UnixSocket.retryDelay(Integer.MAX_VALUE)).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void tooLongPathIsRefusedClearly() {
        Path path = dir.resolve("x".repeat(120));
        assertThatThrownBy(() -> UnixServerSocket.bind(path)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("107");
    }

    @Test
    void closeWakesABlockedAccept() throws Exception {
        UnixServerSocket server = UnixServerSocket.bind(dir.resolve("wake.sock"));
        CompletableFuture<UnixSocket> accepting = CompletableFuture.supplyAsync(() -> {
            try {
                return server.accept();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(200);
        server.close();
        assertThatThrownBy(() -> accepting.get(5, TimeUnit.SECONDS))
                .hasCauseInstanceOf(RuntimeException.class)
                .hasRootCauseInstanceOf(AsynchronousCloseException.class);
    }

    @Test
    void closingAnAcceptedConnectionWakesItsBlockedReceiver() throws Exception {
        try (UnixServerSocket server = UnixServerSocket.bind(dir.resolve("close.sock"));
             UnixSocket client = UnixSocket.connect(server.path())) {
            UnixSocket accepted = server.accept();
            CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
                try {
                    return accepted.recv(Arena.ofAuto().allocate(4));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(100);
            assertThat(reader).isNotDone();
            accepted.close();
            assertThat(reader.get(5, TimeUnit.SECONDS)).isZero();
            assertThat(client.recv(Arena.ofAuto().allocate(4))).isZero(); // the peer sees the end too
        }
    }

    @Test
    void acceptWithTimeoutReturnsNullWhenNobodyComes() throws Exception {
        try (UnixServerSocket server = UnixServerSocket.bind(dir.resolve("quiet.sock"))) {
            assertThat(server.accept(Duration.ofMillis(50))).isNull();
            try (UnixSocket client = UnixSocket.connect(server.path());
                 UnixSocket accepted = server.accept(Duration.ofSeconds(5))) {
                assertThat(accepted).isNotNull();
            }
        }
    }

    @Test
    void thousandServerLifecyclesLeakNothing() throws Exception {
        Path path = dir.resolve("loop.sock");
        cycle(path);
        long before = ProcSelf.openFds();
        for (int i = 0; i < 1000; i++) cycle(path);
        assertThat(ProcSelf.openFds()).isEqualTo(before);
        assertThat(Files.exists(path, LinkOption.NOFOLLOW_LINKS)).isFalse();
    }

    private static void cycle(Path path) throws IOException {
        try (UnixServerSocket server = UnixServerSocket.bind(path); UnixSocket client = UnixSocket.connect(path);
             UnixSocket accepted = server.accept()) {
            accepted.shutdown();
        }
    }
}

package io.jvdpa.cli.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.sys.UnixSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ControlServerTest {
    private Path dir;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("jvdpa-control-server");
    }

    @AfterEach
    void tearDown() throws Exception {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void aRequestInFlightCompletesWhileTheServerStops() throws Exception {
        CountDownLatch handling = new CountDownLatch(1);
        Path path = dir.resolve("control.sock");
        ControlServer server = ControlServer.start(path, r -> {
            handling.countDown();
            try {
                Thread.sleep(1500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Map.of("slow", r.command());
        });
        CompletableFuture<ControlResponse> slow = CompletableFuture.supplyAsync(
                () -> ControlClient.send(path, ControlRequest.of("slow", null)));
        assertThat(handling.await(5, TimeUnit.SECONDS)).isTrue();
        // A client that connected but has not sent its request yet is dropped, not waited for.
        UnixSocket idle = UnixSocket.connect(path);
        long begin = System.nanoTime();
        server.close(Duration.ofSeconds(10));
        assertThat(Duration.ofNanos(System.nanoTime() - begin)).isLessThan(Duration.ofSeconds(5));
        assertThat(path).doesNotExist();
        ControlResponse r = slow.get(5, TimeUnit.SECONDS);
        assertThat(r.ok()).isTrue();
        assertThat(r.result().get("slow").asText()).isEqualTo("slow");
        assertThat(idle.recv(java.lang.foreign.Arena.ofAuto().allocate(16))).isZero();
        idle.close();
        assertThatThrownBy(() -> ControlClient.send(path, ControlRequest.of("list", null)))
                .isInstanceOf(ControlException.class).hasMessageContaining("no jvdpa daemon at");
    }

    @Test
    void garbageIsAUsageErrorAndTheServerCarriesOn() throws Exception {
        Path path = dir.resolve("control.sock");
        try (ControlServer server = ControlServer.start(path, r -> Map.of("ok", true))) {
            try (UnixSocket s = UnixSocket.connect(path); LineChannel c = new LineChannel(s)) {
                c.writeLine("{not json");
                ControlResponse r = Json.WIRE.readValue(c.readLine(), ControlResponse.class);
                assertThat(r.ok()).isFalse();
                assertThat(r.kind()).isEqualTo(ErrorKind.USAGE);
                assertThat(r.error()).startsWith("not a control request");
            }
            try (UnixSocket s = UnixSocket.connect(path); LineChannel c = new LineChannel(s)) {
                c.writeLine("{\"name\":\"x\"}");
                assertThat(Json.WIRE.readValue(c.readLine(), ControlResponse.class).error()).contains("no \"command\"");
            }
            assertThat(ControlClient.send(path, ControlRequest.of("list", null)).ok()).isTrue();
        }
    }

    @Test
    void theDefaultPathFollowsXdgRuntimeDir() {
        assertThat(ControlSocketPath.defaultPath(Map.of("XDG_RUNTIME_DIR", "/run/user/1000")))
                .isEqualTo(Path.of("/run/user/1000/jvdpa/control.sock"));
        assertThat(ControlSocketPath.defaultPath(Map.of())).isEqualTo(Path.of("/run/jvdpa/control.sock"));
        assertThat(ControlSocketPath.defaultPath(Map.of("XDG_RUNTIME_DIR", "relative"))).isEqualTo(Path.of("/run/jvdpa/control.sock"));
    }
}

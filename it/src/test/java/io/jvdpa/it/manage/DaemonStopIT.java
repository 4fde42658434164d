package io.jvdpa.it.manage;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.it.blk.BackgroundFio;
import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.ManagedProcess;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.VhostUserBlk;
import io.jvdpa.testing.VirtioMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An orderly stop under load: {@code jvdpa daemon} hosts a blk device for a guest whose fio writes and verifies,
 * and gets SIGTERM while the device's worker has requests in its hands. It completes them, removes its sockets and
 * exits 0; started again on the same config (QEMU reconnects with the inflight area it kept), the device finds
 * nothing in flight to resubmit, unlike after a SIGKILL (BlkReconnectIT), and fio finishes without a verify error.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class DaemonStopIT {
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final Pattern QUEUE_STARTED = Pattern.compile("disk: queue 0 started: ([^\n]*)\n");

    @TempDir
    Path dir;

    @Test
    void sigtermWithRequestsInFlightCompletesThemAndRemovesItsSockets() throws Exception {
        Jvdpa.build();
        Path control = dir.resolve("control.sock");
        Path socket = dir.resolve("disk.sock");
        // Writethrough: every write waits for fdatasync, so the worker has requests in hand most of the time.
        Path config = Files.writeString(dir.resolve("jvdpa.yaml"), """
                control-socket: %s
                devices:
                  - name: disk
                    type: blk
                    socket-path: %s
                    image: %s
                    size: 64M
                    cache: writethrough
                """.formatted(control, socket, dir.resolve("disk.img")));
        ManagedProcess first = Jvdpa.start("daemon-stopped", Map.of(), "daemon", "--config", config.toString());
        try (first; QemuGuest guest = start(first, socket)) {
            BackgroundFio fio = BackgroundFio.start(guest);
            fio.awaitWrites(300);

            first.awaitThreadBusy("disk-worker-0", SHORT);
            first.signal("TERM");
            assertThat(first.waitFor(Duration.ofSeconds(15))).as(first.describe()).isZero();
            assertThat(control).doesNotExist();
            assertThat(socket).doesNotExist();
            assertThat(first.stderr().text()).contains("jvdpa daemon: stopping", "jvdpa daemon: stopped");

            try (ManagedProcess restarted = Jvdpa.start("daemon-restarted", Map.of(), "daemon", "--config",
                    config.toString())) {
                String started = restarted.awaitOutput(QUEUE_STARTED, Duration.ofMinutes(1), true).group(1);
                assertThat(started).as("the restarted device's queue start; its log:\n%s", restarted.stderr().text())
                        .endsWith(", 0 requests in flight to resubmit");
                assertThat(restarted.stderr().text()).doesNotContain("requests in flight before the reconnect");

                fio.assertFinishedClean(Duration.ofMinutes(3));
            }
        }
    }

    /** Boots the guest once the daemon serves its device. */
    private static QemuGuest start(ManagedProcess daemon, Path socket) {
        Jvdpa.awaitReady(daemon);
        return QemuGuest.builder(GuestArch.X86_64).name("daemon-stop").failOnVhostError(false)
                .blk(VhostUserBlk.of(socket, VirtioMode.MODERN_ONLY).withReconnect(true)).start();
    }
}

package io.jvdpa.it.blk;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.GuestVirtioDevice;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.VhostUserBlk;
import io.jvdpa.testing.VirtioMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Reconnect without loss: {@code ./jvdpa blk} is killed with SIGKILL while a guest's fio writes and verifies, and
 * started again on the same socket and image; QEMU reconnects ({@code reconnect=1}), hands back the inflight area
 * (INFLIGHT_SHMFD), the requests that were in flight are resubmitted, and fio finishes without a verify error. For
 * a modern driver on a split ring and on a packed ring (whose inflight area has a layout of its own), and for a
 * legacy driver.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class BlkReconnectIT {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource({"MODERN_ONLY, true", "PACKED, true", "LEGACY_ONLY, false"})
    void fioVerifiesAcrossAKilledAndRestartedBackend(VirtioMode mode, boolean modern) throws Exception {
        Path image = dir.resolve("disk.img");
        Path socket = dir.resolve("blk.sock");
        // Writethrough: every write waits for fdatasync, so the back-end is busy with requests most of the time.
        BlkProcess first = BlkProcess.start("jvdpa-blk-first-" + mode, socket, image, "--size", "64M",
                "--cache", "writethrough");
        try (QemuGuest guest = QemuGuest.builder(GuestArch.X86_64).name("blk-reconnect-" + mode).failOnVhostError(false)
                .blk(VhostUserBlk.of(socket, mode).withReconnect(true)).start()) {
            GuestVirtioDevice disk = guest.virtioDevices().getFirst();
            assertThat(disk.deviceId()).isEqualTo(GuestVirtioDevice.BLOCK);
            assertThat(disk.modern()).as("driver kind: VERSION_1 on %s", disk).isEqualTo(modern);
            assertThat(disk.hasFeature(GuestVirtioDevice.RING_PACKED)).as("packed ring on %s", disk)
                    .isEqualTo(mode == VirtioMode.PACKED);
            BackgroundFio fio = BackgroundFio.start(guest);
            // Let fio get going, then kill the back-end while its worker is busy with a request. Whether a request
            // is in flight at the instant of SIGKILL is a matter of timing: kill and restart again (fio keeps
            // running across each) until a restart finds requests in flight, at most ten times (on a loaded machine five
            // kills have all landed between requests).
            fio.awaitWrites(300);
            String before = guest.execOk("cat /sys/block/vda/stat", Duration.ofSeconds(30));
            BlkProcess current = first;
            boolean resubmitted = false;
            java.util.List<BlkProcess> restarted = new java.util.ArrayList<>();
            try {
                for (int attempt = 1; attempt <= 10 && !resubmitted; attempt++) {
                    current.killWhileBusy("blk-worker-0");
                    current = BlkProcess.start("jvdpa-blk-restart-" + mode + "-" + attempt, socket, image,
                            "--cache", "writethrough");
                    restarted.add(current);
                    awaitLog(current, "queue 0 started", Duration.ofMinutes(1));
                    resubmitted = java.util.regex.Pattern
                            .compile("queue 0 resumes at .* with [1-9][0-9]* requests in flight before the reconnect")
                            .matcher(current.log()).find();
                    if (!resubmitted) {
                        fio.awaitWrites(fio.writes() + 200);
                    }
                }
                fio.assertFinishedClean(Duration.ofMinutes(3));
                assertThat(resubmitted).as("a restarted back-end resubmitted what the killed one had in flight; last log:\n%s",
                        current.log()).isTrue();
                assertThat(current.log()).as("the restarted back-end's log")
                        .contains("inflight area set").contains(modern ? "(MODERN driver)" : "(LEGACY driver)")
                        .contains(mode == VirtioMode.PACKED ? "packed ring" : "split ring");
                assertThat(guest.execOk("cat /sys/block/vda/stat", Duration.ofSeconds(30))).isNotEqualTo(before);
            } finally {
                restarted.forEach(BlkProcess::close);
            }
        } finally {
            first.close();
        }
    }

    private static void awaitLog(BlkProcess p, String text, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!p.log().contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no '" + text + "' from the restarted back-end; its log:\n" + p.log());
            }
            Thread.sleep(100);
        }
    }
}

package io.jvdpa.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The process wrapper against real shell processes. */
class ManagedProcessTest {
    @TempDir
    Path dir;

    @Test
    void outputGoesToLogsAndCanBeAwaited() throws Exception {
        try (ManagedProcess p = ManagedProcess.builder("echo").command("sh", "-c", "echo out; echo err >&2; sleep 30").start()) {
            p.awaitOutput(Pattern.compile("out\n"), Duration.ofSeconds(10), false);
            p.awaitOutput(Pattern.compile("err\n"), Duration.ofSeconds(10), true);
            assertThat(Files.readString(p.logDirectory().resolve("stdout.log"))).isEqualTo("out\n");
            assertThat(Files.readString(p.logDirectory().resolve("stderr.log"))).isEqualTo("err\n");
            assertThat(Files.readString(p.logDirectory().resolve("command.txt"))).contains("echo out");
        }
    }

    @Test
    void closeKillsTheCommandAndItsWrapper() {
        ManagedProcess p = ManagedProcess.builder("sleeper").command("sleep", "300").start();
        long pid = waitForChild(p);
        p.close();
        assertThat(p.isAlive()).isFalse();
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    }

    @Test
    void theLifetimeLimitKillsACommandNobodyCloses() {
        try (ManagedProcess p = ManagedProcess.builder("short-lived").command("sleep", "300")
                .maxLifetime(Duration.ofSeconds(1)).start()) {
            assertThat(p.waitFor(Duration.ofSeconds(10))).isEqualTo(124);
        }
    }

    @Test
    void aSignalReachesTheCommandThroughTheWrapper() {
        try (ManagedProcess p = ManagedProcess.builder("trap").command("sh", "-c",
                "trap 'echo got INT; exit 3' INT; echo ready; while true; do sleep 0.1; done").start()) {
            p.awaitOutput(Pattern.compile("ready"), Duration.ofSeconds(10), false);
            p.signal("INT");
            assertThat(p.waitFor(Duration.ofSeconds(10))).isEqualTo(3);
            assertThat(p.stdout().text()).contains("got INT");
        }
    }

    @Test
    void waitsEndEarlyWhenTheProcessExits() {
        try (ManagedProcess p = ManagedProcess.builder("failing").command("sh", "-c", "echo broken >&2; exit 7").start()) {
            assertThatThrownBy(() -> p.awaitOutput(Pattern.compile("never"), Duration.ofSeconds(30), false))
                    .isInstanceOf(HarnessException.class).hasMessageContaining("broken");
            assertThatThrownBy(() -> p.awaitPath(dir.resolve("never.sock"), Duration.ofSeconds(30)))
                    .isInstanceOf(HarnessException.class).hasMessageContaining("exited with status 7");
        }
    }

    @Test
    void waitsAreBounded() {
        try (ManagedProcess p = ManagedProcess.builder("silent").command("sleep", "30").start()) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> p.awaitOutput(Pattern.compile("never"), Duration.ofMillis(300), false))
                    .isInstanceOf(HarnessException.class).hasMessageContaining("within");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
    }

    @Test
    void aBusyThreadIsToldFromASleepingOne() {
        try (ManagedProcess spinning = ManagedProcess.builder("spinning").command("sh", "-c", "while :; do :; done").start();
             ManagedProcess sleeping = ManagedProcess.builder("sleeping").command("sleep", "30").start()) {
            spinning.awaitThreadBusy("sh", Duration.ofSeconds(10));
            assertThatThrownBy(() -> sleeping.awaitThreadBusy("sleep", Duration.ofMillis(500)))
                    .isInstanceOf(HarnessException.class).hasMessageContaining("thread sleep of sleeping was not busy");
        }
    }

    @Test
    void aMissingProgramIsReportedByName() {
        assertThatThrownBy(() -> ManagedProcess.builder("missing").command("no-such-program-here").start())
                .isInstanceOf(HarnessException.class).hasMessageContaining("no-such-program-here is not installed");
    }

    private static long waitForChild(ManagedProcess p) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (p.pid() == ProcessHandle.current().pid() || p.pid() == -1 || !hasChild(p)) {
            assertThat(System.nanoTime()).isLessThan(deadline);
            ManagedProcess.sleep(Duration.ofMillis(20));
        }
        return p.pid();
    }

    private static boolean hasChild(ManagedProcess p) {
        return ProcessHandle.of(p.pid()).map(h -> h.info().command().orElse("").endsWith("sleep")).orElse(false);
    }
}

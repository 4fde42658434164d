package io.jvdpa.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvdpa.testing.ExecResult;
import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.GuestException;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.QmpException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The harness itself: real guests boot and their console runs commands with output and exit status. One x86
 * guest serves every test (a TCG boot is the expensive part); the s390x test boots a second guest beside it.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class QemuGuestIT {
    private static final Duration SHORT = Duration.ofSeconds(20);
    private static final String BYTE_ORDER = "printf '\\001\\000' | od -An -tu2 | tr -d ' '";

    private static QemuGuest x86;
    private static Path monitorDir;

    @BeforeAll
    static void bootX86() throws IOException {
        monitorDir = Files.createTempDirectory("jvdpa-qmp");
        x86 = QemuGuest.builder(GuestArch.X86_64).name("x86-console").monitor(monitorDir.resolve("qmp.sock")).start();
    }

    @AfterAll
    static void closeX86() throws IOException {
        if (x86 != null) {
            x86.close();
        }
        Files.deleteIfExists(monitorDir.resolve("qmp.sock"));
        Files.deleteIfExists(monitorDir);
    }

    @Test
    void theMonitorAnswersQmpCommandsAndNamesItsErrors() {
        JsonNode status = x86.qmp().execute("query-status");
        assertThat(status.path("status").asText()).isEqualTo("running");
        assertThat(x86.qmp().execute("query-cpus-fast").size()).isEqualTo(1);
        assertThatThrownBy(() -> x86.qmp().execute("no-such-command")).isInstanceOf(QmpException.class)
                .hasMessageContaining("no-such-command")
                .satisfies(e -> assertThat(((QmpException) e).errorClass()).isEqualTo("CommandNotFound"));
        // The console is unaffected by the monitor beside it.
        assertThat(x86.execOk("echo console", SHORT)).isEqualTo("console");
    }

    @Test
    void commandsReturnTheirOutputAndExitStatus() {
        assertThat(x86.execOk("uname -m", SHORT)).isEqualTo("x86_64");

        ExecResult failing = x86.exec("ls /no/such/file", SHORT);
        assertThat(failing.exitCode()).isNotZero();
        assertThat(failing.output()).contains("/no/such/file");
        assertThat(x86.exec("exit_with() { return $1; }; exit_with 42", SHORT).exitCode()).isEqualTo(42);

        assertThat(x86.execOk("printf 'a\\nb\\nno-newline'", SHORT)).isEqualTo("a\nb\nno-newline");
        assertThat(x86.execOk("echo $((6 * 7))", SHORT)).isEqualTo("42");
        assertThat(x86.execOk("sleep 1 & wait; echo waited", SHORT)).isEqualTo("waited");
        // The tools the storage and network tests rely on are in the image, not busybox's stand-ins.
        x86.execOk("fio --version && mkfs.ext4 -V && e2fsck -V && sha256sum /init", SHORT);
        assertThat(x86.execOk("ip -V", SHORT)).contains("iproute2");
    }

    @Test
    void aCommandThatTimesOutIsInterruptedAndTheShellKeepsWorking() {
        assertThatThrownBy(() -> x86.exec("sleep 600", Duration.ofSeconds(2)))
                .isInstanceOf(GuestException.class).hasMessageContaining("did not finish");
        assertThat(x86.execOk("echo still here", SHORT)).isEqualTo("still here");
    }

    @Test
    void filesGoInAndComeBackUnchanged() {
        byte[] content = new byte[20_000];
        new Random(7).nextBytes(content);
        x86.pushFile(content, "/tmp/pushed");
        assertThat(x86.readFile("/tmp/pushed")).isEqualTo(content);
        x86.execOk("echo hello > /tmp/greeting", SHORT);
        assertThat(new String(x86.readFile("/tmp/greeting"), StandardCharsets.UTF_8)).isEqualTo("hello\n");
    }

    @Test
    void aBigEndianS390xGuestRunsBesideTheX86Guest() throws Exception {
        try (QemuGuest s390x = QemuGuest.builder(GuestArch.S390X).name("s390x-console").start()) {
            assertThat(s390x.execOk("uname -m", SHORT)).isEqualTo("s390x");
            // The bytes 01 00 read as one 16-bit number: 256 on a big-endian machine, 1 on a little-endian one.
            CompletableFuture<String> onX86 = CompletableFuture.supplyAsync(() -> x86.execOk(BYTE_ORDER, SHORT));
            assertThat(s390x.execOk(BYTE_ORDER, SHORT)).isEqualTo("256");
            assertThat(onX86.get(30, TimeUnit.SECONDS)).isEqualTo("1");
            assertThat(s390x.exec("false", SHORT).exitCode()).isEqualTo(1);
        }
    }
}

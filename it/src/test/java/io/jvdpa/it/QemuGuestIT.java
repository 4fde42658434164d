package io.jvdpa.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.testing.ExecResult;
import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.GuestException;
import io.jvdpa.testing.QemuGuest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The harness itself: real guests boot and their console runs commands with output and exit status. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class QemuGuestIT {
    private static final Duration SHORT = Duration.ofSeconds(20);

    @Test
    void x86GuestRunsCommandsWithOutputAndExitStatus() {
        try (QemuGuest guest = QemuGuest.builder(GuestArch.X86_64).name("x86-console").start()) {
            assertThat(guest.execOk("uname -m", SHORT)).isEqualTo("x86_64");

            ExecResult failing = guest.exec("ls /no/such/file", SHORT);
            assertThat(failing.exitCode()).isNotZero();
            assertThat(failing.output()).contains("/no/such/file");
            assertThat(guest.exec("exit_with() { return $1; }; exit_with 42", SHORT).exitCode()).isEqualTo(42);

            assertThat(guest.execOk("printf 'a\\nb\\nno-newline'", SHORT)).isEqualTo("a\nb\nno-newline");
            assertThat(guest.execOk("echo $((6 * 7))", SHORT)).isEqualTo("42");
            assertThat(guest.execOk("sleep 1 & wait; echo waited", SHORT)).isEqualTo("waited");
            // The tools the storage and network tests rely on are in the image.
            guest.execOk("fio --version && mkfs.ext4 -V && e2fsck -V && ip -V && sha256sum /init", SHORT);
        }
    }

    @Test
    void x86GuestInterruptsACommandThatTimesOutAndKeepsWorking() {
        try (QemuGuest guest = QemuGuest.builder(GuestArch.X86_64).name("x86-timeout").start()) {
            assertThatThrownBy(() -> guest.exec("sleep 600", Duration.ofSeconds(2)))
                    .isInstanceOf(GuestException.class).hasMessageContaining("did not finish");
            assertThat(guest.execOk("echo still here", SHORT)).isEqualTo("still here");
        }
    }

    @Test
    void x86GuestTakesAndGivesBackFiles() {
        byte[] content = new byte[20_000];
        new Random(7).nextBytes(content);
        try (QemuGuest guest = QemuGuest.builder(GuestArch.X86_64).name("x86-files").start()) {
            guest.pushFile(content, "/tmp/pushed");
            assertThat(guest.readFile("/tmp/pushed")).isEqualTo(content);
            guest.execOk("echo hello > /tmp/greeting", SHORT);
            assertThat(new String(guest.readFile("/tmp/greeting"), StandardCharsets.UTF_8)).isEqualTo("hello\n");
        }
    }

    @Test
    void s390xGuestIsBigEndian() {
        try (QemuGuest guest = QemuGuest.builder(GuestArch.S390X).name("s390x-console").start()) {
            assertThat(guest.execOk("uname -m", SHORT)).isEqualTo("s390x");
            // The first byte of the 16-bit value 1 in memory: 0 on a big-endian machine.
            assertThat(guest.execOk("printf '\\001\\000' | od -An -tu2 | tr -d ' '", SHORT)).isEqualTo("256");
            assertThat(guest.exec("false", SHORT).exitCode()).isEqualTo(1);
        }
    }
}

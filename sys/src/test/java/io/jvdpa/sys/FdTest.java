package io.jvdpa.sys;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@SuppressWarnings("try") // resources held open only for their effect
class FdTest {
    @Test
    void closeIsIdempotentAndValueAfterCloseThrows() throws Exception {
        Fd fd = MemFd.create("fd-close", 4096);
        int number = fd.value();
        assertThat(Path.of("/proc/self/fd/" + number)).exists();
        fd.close();
        fd.close();
        assertThat(fd.isOpen()).isFalse();
        assertThat(Files.exists(Path.of("/proc/self/fd/" + number), java.nio.file.LinkOption.NOFOLLOW_LINKS))
                .isFalse();
        assertThatThrownBy(fd::value).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void memfdHasItsNameAndSize() throws Exception {
        try (Fd fd = MemFd.create("fd-size", 3 * 4096 + 17)) {
            assertThat(fd.size()).isEqualTo(3 * 4096 + 17);
            assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd.value())).toString())
                    .startsWith("/memfd:fd-size");
            MemFd.truncate(fd, 8192);
            assertThat(fd.size()).isEqualTo(8192);
        }
    }

    @Test
    void failedCallNamesCallArgumentsAndErrno(@TempDir Path dir) {
        assertThatThrownBy(() -> Fd.open(dir.resolve("missing"), OpenFlags.O_RDONLY, 0))
                .isInstanceOfSatisfying(LinuxException.class, e -> {
                    assertThat(e.call()).isEqualTo("open");
                    assertThat(e.errno()).isEqualTo(Errno.ENOENT);
                })
                .hasMessage("open(" + dir.resolve("missing") + ", flags=00, mode=00): No such file or directory"
                        + " (ENOENT, errno 2)");
    }

    @Test
    void errnoNames() {
        assertThat(Errno.name(Errno.EINVAL)).isEqualTo("EINVAL");
        assertThat(Errno.description(Errno.EINVAL)).isEqualTo("Invalid argument");
        assertThat(Errno.name(Errno.ECONNREFUSED)).isEqualTo("ECONNREFUSED");
        assertThat(new LinuxException("mmap", "len=4096, offset=0", Errno.EINVAL))
                .hasMessage("mmap(len=4096, offset=0): Invalid argument (EINVAL, errno 22)");
    }

    @Test
    void openCreatesWithModeAndDuplicateIsIndependent(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("f");
        try (Fd fd = Fd.open(file, OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_EXCL, 0640)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-r-----");
            Fd copy = fd.duplicate();
            assertThat(copy.value()).isNotEqualTo(fd.value());
            fd.close();
            MemFd.truncate(copy, 100);
            assertThat(copy.size()).isEqualTo(100);
            copy.close();
        }
        assertThatThrownBy(() -> Fd.open(file, OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_EXCL, 0600))
                .isInstanceOfSatisfying(LinuxException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
    }

    @Test
    void releaseHandsOverWithoutClosing() throws Exception {
        Fd fd = MemFd.create("fd-release", 0);
        int number = fd.release();
        assertThat(fd.isOpen()).isFalse();
        fd.close();
        try (Fd again = Fd.adopt(number)) {
            assertThat(again.size()).isZero();
        }
    }

    @Test
    void adoptRejectsNegative() {
        assertThatThrownBy(() -> Fd.adopt(-1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
    }
}

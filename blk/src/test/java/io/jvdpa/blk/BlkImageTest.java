package io.jvdpa.blk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opening and creating images: what is accepted, and what each refusal says. */
class BlkImageTest {
    @TempDir
    Path dir;

    @Test
    void aMissingImageIsCreatedSparseWhenASizeIsGiven() throws Exception {
        Path file = dir.resolve("new.img");
        try (BlkImage image = BlkImage.open(file, 1L << 30, false)) {
            assertThat(image.size()).isEqualTo(1L << 30);
            assertThat(image.capacity()).isEqualTo((1L << 30) / 512);
        }
        assertThat(Files.size(file)).isEqualTo(1L << 30);
        assertThat(allocatedBlocks(file)).as("sparse").isZero();
    }

    @Test
    void anExistingImageIsUsedAsItIs() throws Exception {
        Path file = dir.resolve("disk.img");
        Files.write(file, new byte[512 * 3 + 100]);
        try (BlkImage image = BlkImage.open(file, 0, false)) {
            assertThat(image.capacity()).as("a partial last sector is not part of the disk").isEqualTo(3);
        }
        try (BlkImage image = BlkImage.open(file, 0, true)) {
            assertThat(image.readOnly()).isTrue();
        }
    }

    @Test
    void refusalsNameThePathAndTheProblem() throws Exception {
        Path missing = dir.resolve("missing.img");
        assertThatThrownBy(() -> BlkImage.open(missing, 0, false)).isInstanceOf(IOException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("does not exist").hasMessageContaining("--size");
        assertThatThrownBy(() -> BlkImage.open(missing, 4096, true)).isInstanceOf(IOException.class)
                .hasMessageContaining("read-only");
        assertThat(missing).doesNotExist();
        assertThatThrownBy(() -> BlkImage.open(dir, 0, false)).isInstanceOf(IOException.class)
                .hasMessageContaining("is a directory");
        assertThatThrownBy(() -> BlkImage.open(Path.of("/dev/null"), 0, false)).isInstanceOf(IOException.class)
                .hasMessageContaining("not a regular file");
        Path tiny = dir.resolve("tiny.img");
        Files.write(tiny, new byte[100]);
        assertThatThrownBy(() -> BlkImage.open(tiny, 0, false)).isInstanceOf(IOException.class)
                .hasMessageContaining("less than one 512-byte sector");
        Path sized = dir.resolve("sized.img");
        Files.write(sized, new byte[4096]);
        assertThatThrownBy(() -> BlkImage.open(sized, 8192, false)).isInstanceOf(IOException.class)
                .hasMessageContaining("exists with 4096 bytes").hasMessageContaining("8192");
        assertThatThrownBy(() -> BlkImage.open(sized, 1000, false)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aReadOnlyDeviceNeedsAReadOnlyImage() throws Exception {
        Path file = dir.resolve("disk.img");
        Files.write(file, new byte[4096]);
        try (BlkImage image = BlkImage.open(file, 0, false)) {
            assertThatThrownBy(() -> new VirtioBlkDevice(image, new BlkDeviceConfig("s", 1, true, CacheMode.WRITEBACK)))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void serialsArePrintableAsciiOfAtMostTwentyBytes() {
        assertThat(BlkDeviceConfig.defaults("12345678901234567890").idBytes()).hasSize(20);
        assertThatThrownBy(() -> BlkDeviceConfig.defaults("123456789012345678901")).hasMessageContaining("at most 20");
        assertThatThrownBy(() -> BlkDeviceConfig.defaults("caf\u00e9")).hasMessageContaining("printable ASCII");
        assertThatThrownBy(() -> BlkDeviceConfig.defaults("tab\there")).hasMessageContaining("printable ASCII");
        assertThat(new String(BlkDeviceConfig.defaults("ab").idBytes(), StandardCharsets.US_ASCII)).isEqualTo("ab" + "\0".repeat(18));
    }

    static long allocatedBlocks(Path file) throws Exception {
        Process p = new ProcessBuilder("stat", "-c", "%b", file.toString()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        assertThat(p.waitFor()).isZero();
        return Long.parseLong(out);
    }
}

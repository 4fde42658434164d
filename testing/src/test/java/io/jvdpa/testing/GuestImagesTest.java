package io.jvdpa.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuestImagesTest {
    @TempDir
    Path dir;

    @Test
    void missingImagesTellWhatToRun() {
        assertThatThrownBy(() -> GuestImages.in(dir, GuestArch.S390X)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("s390x/vmlinuz").hasMessageContaining("run scripts/guest-images");
    }

    @Test
    void builtImagesAreFound() throws Exception {
        Files.createDirectories(dir.resolve("x86_64"));
        Files.writeString(dir.resolve("x86_64/vmlinuz"), "k");
        Files.writeString(dir.resolve("x86_64/initramfs.cpio.gz"), "i");
        GuestImages images = GuestImages.in(dir, GuestArch.X86_64);
        assertThat(images.kernel()).isEqualTo(dir.resolve("x86_64/vmlinuz"));
        assertThat(images.initramfs()).isEqualTo(dir.resolve("x86_64/initramfs.cpio.gz"));
    }

    @Test
    void theCheckoutIsFoundFromAModuleDirectory() {
        assertThat(RepoRoot.find().resolve("scripts/guest-images")).isRegularFile();
    }
}

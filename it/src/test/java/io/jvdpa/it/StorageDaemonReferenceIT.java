package io.jvdpa.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.it.blk.GuestDiskChecks;
import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.GuestException;
import io.jvdpa.testing.GuestVirtioDevice;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.StorageDaemon;
import io.jvdpa.testing.VhostUserBlk;
import io.jvdpa.testing.VirtioMode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * qemu-storage-daemon as the vhost-user-blk reference with a real x86 guest: the rows of the block column in the
 * peer comparison. A modern-only disk passes the same checks as jvdpa's ({@link GuestDiskChecks}); the legacy rows
 * are refused.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class StorageDaemonReferenceIT {
    private static final long MIB = 1 << 20;
    private static final long DISK_SIZE = 64 * MIB;
    private static final Duration SHORT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void modernOnlyDiskKeepsWhatTheGuestWrites() throws Exception {
        Path image = createImage();
        Path socket = dir.resolve("blk.sock");
        try (StorageDaemon daemon = StorageDaemon.export(image, socket).start();
             QemuGuest guest = QemuGuest.builder(GuestArch.X86_64).name("qsd-modern")
                     .blk(VhostUserBlk.of(socket, VirtioMode.MODERN_ONLY)).start()) {
            GuestVirtioDevice disk = guest.virtioDevices().getFirst();
            assertThat(disk.deviceId()).isEqualTo(GuestVirtioDevice.BLOCK);
            assertThat(disk.modern()).isTrue();
            assertThat(disk.driver()).isEqualTo("virtio_blk");
            assertThat(guest.execOk("cat /sys/block/vda/size", SHORT)).isEqualTo(Long.toString(DISK_SIZE / 512));

            // The export starts write-through (config wce 0), so a guest would never send it FLUSH. The guest turns
            // its write cache on through CONFIG_WCE, which QEMU passes on (SET_CONFIG), and the disk then takes the
            // same requests jvdpa's write-back disk does.
            guest.execOk("echo 'write back' > /sys/block/vda/cache_type", SHORT);
            assertThat(guest.execOk("cat /sys/block/vda/queue/write_cache", SHORT)).isEqualTo("write back");
            GuestDiskChecks.randomDataSurvives(guest, "/dev/vda", image);
            GuestDiskChecks.fioVerifies(guest, "/dev/vda");
            GuestDiskChecks.fileSystemChecksClean(guest, "/dev/vda");
        }
    }

    @Test
    void legacyOnlyDiskIsRefused() throws Exception {
        assertRefused(VirtioMode.LEGACY_ONLY, false, "qsd-legacy-only");
    }

    @Test
    void transitionalDiskWithLegacyDriverIsRefused() throws Exception {
        assertRefused(VirtioMode.TRANSITIONAL, true, "qsd-forced-legacy");
    }

    /** libvhost-user refuses legacy devices; QEMU reports the failed vhost start and the guest never gets a disk. */
    private void assertRefused(VirtioMode mode, boolean forceLegacy, String name) throws IOException {
        Path image = createImage();
        Path socket = dir.resolve("blk.sock");
        try (StorageDaemon daemon = StorageDaemon.export(image, socket).start()) {
            QemuGuest guest = QemuGuest.builder(GuestArch.X86_64).name(name).forceLegacy(forceLegacy)
                    .bootTimeout(Duration.ofSeconds(90)).blk(VhostUserBlk.of(socket, mode)).build();
            try (guest) {
                assertThatThrownBy(guest::start).isInstanceOfSatisfying(GuestException.class, e ->
                        assertThat(e.qemuErrors()).anyMatch(line -> line.contains("vhost")));
            }
            assertThat(daemon.process().stderr().text()).contains("legacy devices aren't supported");
        }
    }

    private Path createImage() throws IOException {
        Path image = dir.resolve("disk.img");
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(DISK_SIZE);
        }
        return image;
    }

}

package io.jvdpa.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.testing.FileDigest;
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
 * peer comparison. A modern-only disk keeps exactly what the guest writes; the legacy rows are refused.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class StorageDaemonReferenceIT {
    private static final long MIB = 1 << 20;
    private static final long DISK_SIZE = 64 * MIB;
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final Duration IO = Duration.ofMinutes(2);

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

            // Random data at 8 MiB, written around the guest's page cache, then read back the same way.
            guest.execOk("dd if=/dev/urandom of=/tmp/data bs=1M count=4 2>/dev/null", SHORT);
            String written = sha256In(guest, "/tmp/data");
            guest.execOk("dd if=/tmp/data of=/dev/vda bs=1M seek=8 oflag=direct 2>/dev/null && sync", IO);
            String readBack = guest.execOk("dd if=/dev/vda bs=1M skip=8 count=4 iflag=direct 2>/dev/null"
                    + " | sha256sum | cut -d' ' -f1", IO);
            assertThat(readBack).isEqualTo(written);
            assertThat(FileDigest.sha256(image, 8 * MIB, 4 * MIB)).isEqualTo(written);

            guest.execOk("fio --name=verify --filename=/dev/vda --offset=16M --size=16M --rw=randwrite --bs=4k"
                    + " --direct=1 --ioengine=libaio --iodepth=8 --verify=crc32c --verify_fatal=1"
                    + " --output-format=terse >/tmp/fio.out 2>&1 || { cat /tmp/fio.out; exit 1; }", IO);

            guest.execOk("mkfs.ext4 -q -F /dev/vda && mount -t ext4 /dev/vda /mnt"
                    + " && cp /tmp/data /mnt/data && umount /mnt", IO);
            guest.execOk("mount -t ext4 -o ro /dev/vda /mnt && cmp /tmp/data /mnt/data && umount /mnt", IO);
            guest.execOk("fsck.ext4 -f -n /dev/vda", IO);
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

    private static String sha256In(QemuGuest guest, String path) {
        return guest.execOk("sha256sum " + path + " | cut -d' ' -f1", SHORT);
    }

}

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
 * {@code ./jvdpa blk} serving a real x86 guest's disk through each interface a guest driver can pick: modern-only
 * (split and packed rings), legacy-only, and transitional with the driver forced to legacy (the rows qemu-storage-daemon refuses; see
 * StorageDaemonReferenceIT for the reference run of the same checks).
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class BlkGuestIT {
    private static final long DISK_SIZE = 64 << 20;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}, driver forced legacy: {1}")
    @CsvSource({"MODERN_ONLY, false, true", "PACKED, false, true", "LEGACY_ONLY, false, false",
        "TRANSITIONAL, true, false"})
    void theGuestsDiskKeepsWhatItWrites(VirtioMode mode, boolean forceLegacy, boolean modern) throws Exception {
        Path image = dir.resolve("disk.img");
        Path socket = dir.resolve("blk.sock");
        try (BlkProcess jvdpa = BlkProcess.start("jvdpa-blk-" + mode, socket, image, "--size", "64M", "--serial",
                "jvdpa-" + mode.name().toLowerCase());
             QemuGuest guest = QemuGuest.builder(GuestArch.X86_64).name("blk-" + mode + (forceLegacy ? "-legacy" : ""))
                     .forceLegacy(forceLegacy).blk(VhostUserBlk.of(socket, mode)).start()) {
            GuestVirtioDevice disk = guest.virtioDevices().getFirst();
            assertThat(disk.deviceId()).isEqualTo(GuestVirtioDevice.BLOCK);
            assertThat(disk.driver()).isEqualTo("virtio_blk");
            assertThat(disk.modern()).as("driver kind").isEqualTo(modern);
            assertThat(disk.hasFeature(GuestVirtioDevice.RING_PACKED)).as("packed ring").isEqualTo(mode == VirtioMode.PACKED);
            assertThat(guest.execOk("cat /sys/block/vda/size", Duration.ofSeconds(30)))
                    .isEqualTo(Long.toString(DISK_SIZE / 512));
            assertThat(guest.execOk("cat /sys/block/vda/serial", Duration.ofSeconds(30)))
                    .isEqualTo("jvdpa-" + mode.name().toLowerCase());

            GuestDiskChecks.randomDataSurvives(guest, "/dev/vda", image);
            GuestDiskChecks.fioVerifies(guest, "/dev/vda");
            GuestDiskChecks.fileSystemChecksClean(guest, "/dev/vda");
            assertThat(jvdpa.log()).as("jvdpa's log").contains(modern ? "(MODERN driver)" : "(LEGACY driver)")
                    .doesNotContain("S_IOERR").doesNotContain("S_UNSUPP").doesNotContain("is broken");
        }
    }
}

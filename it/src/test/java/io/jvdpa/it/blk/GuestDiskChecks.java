package io.jvdpa.it.blk;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.testing.FileDigest;
import io.jvdpa.testing.QemuGuest;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What a guest does with a disk to show it keeps data: random data written around the page cache and flushed,
 * read back identical and identical in the image file on the host; fio random writes with crc32c verification; a
 * file system made, filled, checked clean. jvdpa's block device and the qemu-storage-daemon reference both run
 * these checks.
 */
public final class GuestDiskChecks {
    static final long MIB = 1 << 20;
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final Duration IO = Duration.ofMinutes(2);
    /** The "flush I/Os" field of /sys/block/NAME/stat (Documentation/block/stat.rst), counted from 0. */
    private static final int FLUSHES = 15;

    /** What {@link #randomDataSurvives}, {@link #fioVerifies} and {@link #fileSystemChecksClean} show, for reports. */
    public static final String SUMMARY = "4 MiB written with direct I/O and fsync (FLUSH), read back identical and "
            + "equal to the host's image; fio randwrite 8 MiB with crc32c verify passed; ext4 made, filled and "
            + "checked clean";

    private GuestDiskChecks() {}

    /**
     * 4 MiB of random data at 8 MiB with O_DIRECT and fsync (so the guest sends FLUSH, and it must complete), read
     * back the same way and found in {@code image}.
     */
    public static void randomDataSurvives(QemuGuest guest, String disk, Path image) throws Exception {
        guest.execOk("dd if=/dev/urandom of=/tmp/data bs=1M count=4 2>/dev/null", SHORT);
        String written = guest.execOk("sha256sum /tmp/data | cut -d' ' -f1", SHORT);
        long flushesBefore = flushes(guest, disk);
        guest.execOk("dd if=/tmp/data of=" + disk + " bs=1M seek=8 oflag=direct conv=fsync 2>/dev/null", IO);
        String cache = guest.execOk("cat /sys/block/" + name(disk) + "/queue/write_cache", SHORT);
        assertThat(flushes(guest, disk)).as("FLUSH requests to %s completed for dd's fsync (its cache: %s)", disk, cache)
                .isGreaterThan(flushesBefore);
        String readBack = guest.execOk("dd if=" + disk + " bs=1M skip=8 count=4 iflag=direct 2>/dev/null"
                + " | sha256sum | cut -d' ' -f1", IO);
        assertThat(readBack).as("read back in the guest").isEqualTo(written);
        assertThat(FileDigest.sha256(image, 8 * MIB, 4 * MIB)).as("in the image file on the host").isEqualTo(written);
    }

    /** fio random writes over 8 MiB at 16 MiB, every block verified with crc32c. */
    public static void fioVerifies(QemuGuest guest, String disk) {
        guest.execOk("fio --name=verify --filename=" + disk + " --offset=16M --size=8M --rw=randwrite --bs=4k"
                + " --direct=1 --ioengine=libaio --iodepth=8 --verify=crc32c --verify_fatal=1"
                + " --output-format=terse >/tmp/fio.out 2>&1 || { cat /tmp/fio.out; exit 1; }", IO);
    }

    /** mkfs.ext4, mount, write a file, unmount, mount again and compare, fsck clean. */
    public static void fileSystemChecksClean(QemuGuest guest, String disk) {
        guest.execOk("mkfs.ext4 -q -F " + disk + " && mount -t ext4 " + disk + " /mnt"
                + " && cp /tmp/data /mnt/data && mkdir /mnt/dir && echo hello > /mnt/dir/file && umount /mnt", IO);
        guest.execOk("mount -t ext4 -o ro " + disk + " /mnt && cmp /tmp/data /mnt/data"
                + " && grep -q hello /mnt/dir/file && umount /mnt", IO);
        guest.execOk("fsck.ext4 -f -n " + disk, IO);
    }

    private static long flushes(QemuGuest guest, String disk) {
        String[] stat = guest.execOk("cat /sys/block/" + name(disk) + "/stat", SHORT).trim().split("\\s+");
        assertThat(stat.length).as("fields in /sys/block/%s/stat", name(disk)).isGreaterThan(FLUSHES);
        return Long.parseLong(stat[FLUSHES]);
    }

    private static String name(String disk) {
        return disk.substring(disk.lastIndexOf('/') + 1);
    }
}

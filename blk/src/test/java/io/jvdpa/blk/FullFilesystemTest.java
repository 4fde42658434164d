package io.jvdpa.blk;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.blk.BlkDriver.Completion;
import io.jvdpa.blk.BlkDriver.Layout;
import io.jvdpa.blk.BlkRequestsTest.Kind;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Running out of space under the image, on filesystems the test mounts (as root). A sparse image on a tmpfs
 * that fills up part way through a request: the request completes with S_IOERR, never S_OK, although part of
 * it reached the file, and the queue carries on. A disk under the image's filesystem that fills up: writeback
 * fails in fdatasync, and no later FLUSH claims the lost writes are durable.
 */
class FullFilesystemTest {
    static final int ROOM = 256 << 10;
    static final long IMAGE_SIZE = 4L << 20;

    @TempDir
    Path dir;

    /** A mounted filesystem, unmounted on close (a loop device set up by mount goes with it). */
    record Mount(Path at) implements AutoCloseable {
        static Mount tmpfs(Path at, long bytes) throws Exception {
            Files.createDirectories(at);
            run("mount", "-t", "tmpfs", "-o", "size=" + bytes + ",mode=0700", "jvdpa-blk-full", at.toString());
            return new Mount(at);
        }

        /** ext4 without a journal on a loop device over {@code file}, {@code bytes} long. */
        static Mount ext4(Path file, long bytes, Path at) throws Exception {
            run("truncate", "-s", Long.toString(bytes), file.toString());
            run("mkfs.ext4", "-q", "-O", "^has_journal", file.toString());
            Files.createDirectories(at);
            run("mount", "-o", "loop", file.toString(), at.toString());
            return new Mount(at);
        }

        @Override
        public void close() throws Exception {
            run("umount", at.toString());
        }
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s: %s", String.join(" ", command), out).isZero();
    }

    /** Takes up every free byte of the filesystem {@code file} is on. */
    private static void fill(Path file) throws Exception {
        run("fallocate", "-l", Long.toString(Files.getFileStore(file.getParent()).getUsableSpace()), file.toString());
        assertThat(Files.getFileStore(file.getParent()).getUsableSpace()).isZero();
    }

    private static byte[] ones(int n) {
        byte[] data = new byte[n];
        Arrays.fill(data, (byte) 1);
        return data;
    }

    /** pwritev fills the filesystem and returns short; writing the rest fails with ENOSPC. */
    @Test
    void aVectoredWriteThatRunsOutOfSpaceHalfWayIsAnIoError() throws Exception {
        Path socket = dir.resolve("blk.sock");
        try (Mount fs = Mount.tmpfs(dir.resolve("fs"), ROOM);
             BlkBackend b = new BlkBackend(socket, BlkImage.open(fs.at().resolve("disk.img"), IMAGE_SIZE, false),
                     BlkDeviceConfig.defaults("s"));
             BlkDriver d = new BlkDriver(socket, Kind.MODERN.features, Kind.MODERN.order, true)) {
            d.setUpRing(0);
            Completion done = d.run(0, VirtioBlk.T_OUT, 0, ones(2 * ROOM), 0, Layout.SCATTERED);
            assertThat(done.status()).isEqualTo(VirtioBlk.S_IOERR);
            assertThat(BlkImageTest.allocatedBlocks(fs.at().resolve("disk.img")) * 512)
                    .as("the first half reached the file").isEqualTo(ROOM);
            assertThat(b.device.lastError(0)).contains("ENOSPC");
            assertThat(b.device.counters().writes()).isZero();
            assertThat(b.device.counters().ioErrors()).isEqualTo(1);

            byte[] again = new byte[4096];
            Arrays.fill(again, (byte) 2);
            assertThat(d.run(0, VirtioBlk.T_OUT, 8, again, 0, Layout.SCATTERED).status())
                    .as("overwriting allocated space").isEqualTo(VirtioBlk.S_OK);
            assertThat(d.run(0, VirtioBlk.T_IN, 8, new byte[0], 4096, Layout.COMBINED).data()).isEqualTo(again);
        }
    }

    /**
     * Zeroing without unmap keeps the range allocated: on tmpfs (no FALLOC_FL_ZERO_RANGE) a punch and a
     * fallocate per segment. The first segment fits, the second does not.
     */
    @Test
    void writeZeroesWhoseSecondSegmentRunsOutOfSpaceIsAnIoError() throws Exception {
        Path socket = dir.resolve("blk.sock");
        try (Mount fs = Mount.tmpfs(dir.resolve("fs"), ROOM);
             BlkBackend b = new BlkBackend(socket, BlkImage.open(fs.at().resolve("disk.img"), IMAGE_SIZE, false),
                     BlkDeviceConfig.defaults("s"));
             BlkDriver d = new BlkDriver(socket, Kind.MODERN.features, Kind.MODERN.order, true)) {
            d.setUpRing(0);
            assertThat(d.run(0, VirtioBlk.T_OUT, 0, ones(ROOM / 2), 0, Layout.COMBINED).status()).isZero();
            byte[] segments = BlkRequestsTest.concat(BlkRequestsTest.segments(d, 0, 128, 0),
                    BlkRequestsTest.segments(d, 2048, 2 * ROOM / 512, 0));
            Completion done = d.run(0, VirtioBlk.T_WRITE_ZEROES, 0, segments, 0, Layout.COMBINED);
            assertThat(done.status()).isEqualTo(VirtioBlk.S_IOERR);
            assertThat(b.device.lastError(0)).contains("ENOSPC");
            assertThat(b.device.counters().writeZeroes()).isZero();

            assertThat(d.run(0, VirtioBlk.T_WRITE_ZEROES, 0, BlkRequestsTest.segments(d, 0, 128, 0), 0,
                    Layout.COMBINED).status()).as("a list that fits").isEqualTo(VirtioBlk.S_OK);
        }
    }

    /**
     * Linux reports a failed writeback once, to the next fdatasync, and leaves the pages it could not write
     * clean: a later fdatasync succeeds although those writes never reached the disk. So once a FLUSH fails,
     * every later one must fail too, even when the disk has room again.
     */
    @Test
    void afterAFailedFlushNoFlushSucceeds() throws Exception {
        Path socket = dir.resolve("blk.sock");
        Path lower = dir.resolve("lower");
        try (Mount disk = Mount.tmpfs(lower, 24L << 20);
             Mount fs = Mount.ext4(lower.resolve("fs.img"), 16L << 20, dir.resolve("fs"));
             BlkBackend b = new BlkBackend(socket, BlkImage.open(fs.at().resolve("disk.img"), IMAGE_SIZE, false),
                     BlkDeviceConfig.defaults("s"));
             BlkDriver d = new BlkDriver(socket, Kind.MODERN.features, Kind.MODERN.order, true)) {
            d.setUpRing(0);
            fill(lower.resolve("filler"));
            assertThat(d.run(0, VirtioBlk.T_OUT, 0, ones(64 << 10), 0, Layout.COMBINED).status())
                    .as("a write into the page cache").isEqualTo(VirtioBlk.S_OK);
            assertThat(d.run(0, VirtioBlk.T_FLUSH, 0, new byte[0], 0, Layout.COMBINED).status())
                    .as("FLUSH while the disk is full").isEqualTo(VirtioBlk.S_IOERR);
            Files.delete(lower.resolve("filler"));
            assertThat(d.run(0, VirtioBlk.T_FLUSH, 0, new byte[0], 0, Layout.COMBINED).status())
                    .as("FLUSH with room again").isEqualTo(VirtioBlk.S_IOERR);
            assertThat(b.device.lastError(0)).contains("earlier fdatasync");
            assertThat(d.run(0, VirtioBlk.T_IN, 0, new byte[0], 4096, Layout.COMBINED).status())
                    .as("reads go on").isEqualTo(VirtioBlk.S_OK);
        }
    }
}

package io.jvdpa.sys;

import java.io.EOFException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FileIoTest {
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    private static MemorySegment pattern(Arena arena, int size, int seed) {
        MemorySegment s = arena.allocate(size);
        for (int i = 0; i < size; i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + seed));
        return s;
    }

    private Fd image(long size) throws Exception {
        Fd fd = Fd.open(dir.resolve("disk.img"), OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
        FileIo.truncate(fd, size);
        return fd;
    }

    @Test
    void positionedWritesAndReadsRoundTrip() throws Exception {
        try (Fd fd = image(16 * BLOCK); Arena arena = Arena.ofConfined()) {
            MemorySegment out = pattern(arena, 3 * BLOCK, 1);
            FileIo.writeFully(fd, out, 5 * BLOCK);
            FileIo.fdatasync(fd);
            FileIo.fsync(fd);
            MemorySegment in = arena.allocate(3 * BLOCK);
            FileIo.readFully(fd, in, 5 * BLOCK);
            assertThat(in.mismatch(out)).isEqualTo(-1);
            assertThat(FileIo.pread(fd, in.asSlice(0, 512), 5 * BLOCK + 512)).isEqualTo(512);
            assertThat(in.asSlice(0, 512).mismatch(out.asSlice(512, 512))).isEqualTo(-1);
            assertThat(FileIo.pwrite(fd, out.asSlice(0, 100), 0)).isEqualTo(100);
            assertThat(fd.size()).isEqualTo(16 * BLOCK);
            byte[] onDisk = Files.readAllBytes(dir.resolve("disk.img"));
            assertThat(MemorySegment.ofArray(onDisk).asSlice(5 * BLOCK, 3 * BLOCK).mismatch(out)).isEqualTo(-1);
        }
    }

    @Test
    void readingPastTheEndSaysHowFarItGot() throws Exception {
        try (Fd fd = image(BLOCK); Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(2 * BLOCK);
            assertThatThrownBy(() -> FileIo.readFully(fd, in, 0)).isInstanceOf(EOFException.class)
                    .hasMessageContaining("after 4096 of 8192 bytes");
            assertThat(FileIo.pread(fd, in, BLOCK)).isZero();
        }
    }

    @Test
    void scatterGatherMatchesContiguousIo() throws Exception {
        try (Fd fd = image(16 * BLOCK); Arena arena = Arena.ofConfined()) {
            MemorySegment a = pattern(arena, 512, 3);
            MemorySegment b = pattern(arena, 3 * 512, 4);
            MemorySegment c = pattern(arena, BLOCK, 5);
            IoVec iov = new IoVec(8).add(a).add(b, 512, 1024).add(c);
            FileIo.pwritevFully(fd, iov, BLOCK);
            MemorySegment whole = arena.allocate(512 + 1024 + BLOCK);
            FileIo.readFully(fd, whole, BLOCK);
            assertThat(whole.asSlice(0, 512).mismatch(a)).isEqualTo(-1);
            assertThat(whole.asSlice(512, 1024).mismatch(b.asSlice(512, 1024))).isEqualTo(-1);
            assertThat(whole.asSlice(1536, BLOCK).mismatch(c)).isEqualTo(-1);

            MemorySegment x = arena.allocate(1000);
            MemorySegment y = arena.allocate(whole.byteSize() - 1000);
            assertThat(FileIo.preadv(fd, new IoVec(2).add(x).add(y), BLOCK)).isEqualTo(whole.byteSize());
            assertThat(x.mismatch(whole.asSlice(0, 1000))).isEqualTo(-1);
            assertThat(y.mismatch(whole.asSlice(1000))).isEqualTo(-1);
        }
    }

    @Test
    void punchedHolesAndZeroedRangesReadAsZerosAndKeepTheSize() throws Exception {
        try (Fd fd = image(16 * BLOCK); Arena arena = Arena.ofConfined()) {
            FileIo.writeFully(fd, pattern(arena, 16 * BLOCK, 9), 0);
            FileIo.fdatasync(fd);
            long allocatedBefore = allocatedBytes();
            FileIo.punchHole(fd, 4 * BLOCK, 8 * BLOCK);
            assertThat(allocatedBytes()).isLessThanOrEqualTo(allocatedBefore - 8 * BLOCK);
            FileIo.zeroRange(fd, 0, 2 * BLOCK);
            assertThat(fd.size()).isEqualTo(16 * BLOCK);
            MemorySegment in = arena.allocate(16 * BLOCK);
            FileIo.readFully(fd, in, 0);
            for (long i = 0; i < 16 * BLOCK; i++) {
                boolean zeroed = i < 2 * BLOCK || (i >= 4 * BLOCK && i < 12 * BLOCK);
                if (zeroed) assertThat(in.get(ValueLayout.JAVA_BYTE, i)).as("byte %d", i).isZero();
            }
            assertThat(in.get(ValueLayout.JAVA_BYTE, 3 * BLOCK + 1)).isEqualTo((byte) ((3 * BLOCK + 1) * 31 + 9));
        }
    }

    @Test
    void zeroRangeOnAFilesystemWithoutItNamesTheErrno() throws Exception {
        try (Fd memfd = MemFd.create("no-zero-range", BLOCK)) { // shmem has no FALLOC_FL_ZERO_RANGE
            assertThatThrownBy(() -> FileIo.zeroRange(memfd, 0, BLOCK))
                    .isInstanceOfSatisfying(LinuxException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EOPNOTSUPP))
                    .hasMessageStartingWith("fallocate(");
            FileIo.punchHole(memfd, 0, BLOCK);
        }
    }

    private long allocatedBytes() throws Exception {
        return 512L * Long.parseLong(Command.run("stat", "-c", "%b", dir.resolve("disk.img").toString()).trim());
    }

    @Test
    void thousandOpenCloseCyclesLeakNothing() throws Exception {
        Path file = dir.resolve("loop");
        Files.write(file, new byte[BLOCK]);
        long before = ProcSelf.openFds();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(BLOCK);
            for (int i = 0; i < 1000; i++) {
                try (Fd fd = Fd.open(file, OpenFlags.O_RDWR, 0)) {
                    FileIo.readFully(fd, buffer, 0);
                }
            }
        }
        assertThat(ProcSelf.openFds()).isEqualTo(before);
    }
}

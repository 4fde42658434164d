package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** The fields of {@code struct stat} (x86_64) that the project needs. */
record Stat(long device, long inode, int mode, long size) {
    /** struct stat on x86_64: 144 bytes. */
    static final StructLayout LAYOUT = MemoryLayout.structLayout(
            JAVA_LONG.withName("st_dev"),
            JAVA_LONG.withName("st_ino"),
            JAVA_LONG.withName("st_nlink"),
            JAVA_INT.withName("st_mode"),
            JAVA_INT.withName("st_uid"),
            JAVA_INT.withName("st_gid"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("st_rdev"),
            JAVA_LONG.withName("st_size"),
            JAVA_LONG.withName("st_blksize"),
            JAVA_LONG.withName("st_blocks"),
            MemoryLayout.sequenceLayout(6, JAVA_LONG).withName("st_atim_mtim_ctim"),
            MemoryLayout.sequenceLayout(3, JAVA_LONG).withName("reserved"));
    private static final long ST_DEV = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("st_dev"));
    private static final long ST_INO = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("st_ino"));
    private static final long ST_MODE = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("st_mode"));
    private static final long ST_SIZE = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("st_size"));

    static final int S_IFMT = 0170000;
    static final int S_IFSOCK = 0140000;
    static final int S_IFREG = 0100000;
    static final int S_IFDIR = 0040000;

    static Stat of(int fd) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(LAYOUT);
            if (Libc.fstat(fd, buf) < 0) throw new LinuxException("fstat", "fd=" + fd, Libc.errno());
            return read(buf);
        }
    }

    /** lstat(2); null when nothing is at the path. */
    static Stat ofPath(Path path) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(LAYOUT);
            if (Libc.lstat(arena.allocateFrom(path.toString()), buf) < 0) {
                int errno = Libc.errno();
                if (errno == Errno.ENOENT) return null;
                throw new LinuxException("lstat", path.toString(), errno);
            }
            return read(buf);
        }
    }

    private static Stat read(MemorySegment buf) {
        return new Stat(buf.get(JAVA_LONG, ST_DEV), buf.get(JAVA_LONG, ST_INO), buf.get(JAVA_INT, ST_MODE),
                buf.get(JAVA_LONG, ST_SIZE));
    }

    boolean isRegularFile() {
        return (mode & S_IFMT) == S_IFREG;
    }

    boolean isSocket() {
        return (mode & S_IFMT) == S_IFSOCK;
    }

    String typeName() {
        return switch (mode & S_IFMT) {
            case S_IFREG -> "regular file";
            case S_IFDIR -> "directory";
            case S_IFSOCK -> "socket";
            case 0120000 -> "symbolic link";
            case 0010000 -> "fifo";
            case 0020000 -> "character device";
            case 0060000 -> "block device";
            default -> "file of mode " + Integer.toOctalString(mode);
        };
    }
}

package io.jvdpa.sys;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * Positioned file I/O on an {@link Fd} between the file and native memory (guest buffers, mappings): what a
 * block device needs. Nothing here allocates on success, and nothing moves the file offset, so many threads
 * may use one descriptor at once.
 */
public final class FileIo {
    private FileIo() {}

    public static final int FALLOC_FL_KEEP_SIZE = 0x01;
    public static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    public static final int FALLOC_FL_ZERO_RANGE = 0x10;

    /** One pread(2): bytes read into {@code into}, 0 at end of file. */
    public static int pread(Fd fd, MemorySegment into, long offset) throws LinuxException {
        requireNative(into);
        int value = fd.value();
        while (true) {
            long n = Libc.pread(value, into, into.byteSize(), offset);
            if (n >= 0) return (int) n;
            int errno = Libc.errno();
            if (errno != Errno.EINTR) {
                throw new LinuxException("pread", "fd=" + value + ", len=" + into.byteSize() + ", offset=" + offset, errno);
            }
        }
    }

    /** One pwrite(2): bytes written from {@code from}. */
    public static int pwrite(Fd fd, MemorySegment from, long offset) throws LinuxException {
        requireNative(from);
        int value = fd.value();
        while (true) {
            long n = Libc.pwrite(value, from, from.byteSize(), offset);
            if (n >= 0) return (int) n;
            int errno = Libc.errno();
            if (errno != Errno.EINTR) {
                throw new LinuxException("pwrite", "fd=" + value + ", len=" + from.byteSize() + ", offset=" + offset, errno);
            }
        }
    }

    /** Fills all of {@code into} from {@code offset}, looping over short reads; EOFException at end of file. */
    public static void readFully(Fd fd, MemorySegment into, long offset) throws IOException {
        requireNative(into);
        int value = fd.value();
        long size = into.byteSize();
        long done = 0;
        while (done < size) {
            long n = Libc.pread(value, done == 0 ? into : into.asSlice(done), size - done, offset + done);
            if (n == 0) {
                throw new EOFException("end of file after " + done + " of " + size + " bytes at offset " + offset
                        + " (fd " + value + ")");
            }
            if (n < 0) {
                int errno = Libc.errno();
                if (errno == Errno.EINTR) continue;
                throw new LinuxException("pread", "fd=" + value + ", len=" + (size - done) + ", offset="
                        + (offset + done), errno);
            }
            done += n;
        }
    }

    /** Writes all of {@code from} at {@code offset}, looping over short writes. */
    public static void writeFully(Fd fd, MemorySegment from, long offset) throws LinuxException {
        requireNative(from);
        int value = fd.value();
        long size = from.byteSize();
        long done = 0;
        while (done < size) {
            long n = Libc.pwrite(value, done == 0 ? from : from.asSlice(done), size - done, offset + done);
            if (n < 0) {
                int errno = Libc.errno();
                if (errno == Errno.EINTR) continue;
                throw new LinuxException("pwrite", "fd=" + value + ", len=" + (size - done) + ", offset="
                        + (offset + done), errno);
            }
            done += n;
        }
    }

    /**
     * One preadv(2) into the buffers of {@code iov}: a descriptor chain's data in one call.
     *
     * @return bytes read; fewer than {@link IoVec#byteSize()} only at end of file
     */
    public static long preadv(Fd fd, IoVec iov, long offset) throws LinuxException {
        int value = fd.value();
        while (true) {
            long n = Libc.preadv(value, iov.array(), iov.count(), offset);
            if (n >= 0) return n;
            int errno = Libc.errno();
            if (errno != Errno.EINTR) {
                throw new LinuxException("preadv", "fd=" + value + ", " + iov.count() + " buffers, " + iov.byteSize()
                        + " bytes, offset=" + offset, errno);
            }
        }
    }

    /**
     * Writes all buffers of {@code iov} at {@code offset} (pwritev(2)), finishing a short write with plain
     * writes of what is left.
     */
    @SuppressWarnings("restricted") // re-reading an iovec entry the caller built from live segments
    public static void pwritevFully(Fd fd, IoVec iov, long offset) throws LinuxException {
        int value = fd.value();
        long n;
        while (true) {
            n = Libc.pwritev(value, iov.array(), iov.count(), offset);
            if (n >= 0) break;
            int errno = Libc.errno();
            if (errno != Errno.EINTR) {
                throw new LinuxException("pwritev", "fd=" + value + ", " + iov.count() + " buffers, "
                        + iov.byteSize() + " bytes, offset=" + offset, errno);
            }
        }
        if (n == iov.byteSize()) return;
        // Short write (a full disk gives ENOSPC on the retry; a signal gives a partial count): finish per buffer.
        long skip = n;
        for (int i = 0; i < iov.count(); i++) {
            long length = iov.length(i);
            if (skip >= length) {
                skip -= length;
                continue;
            }
            MemorySegment rest = MemorySegment.ofAddress(iov.address(i) + skip).reinterpret(length - skip);
            writeFully(fd, rest, offset + n);
            n += length - skip;
            skip = 0;
        }
    }

    /** fdatasync(2): data and the metadata needed to read it back are on stable storage. */
    public static void fdatasync(Fd fd) throws LinuxException {
        int value = fd.value();
        if (Libc.fdatasync(value) < 0) throw new LinuxException("fdatasync", "fd=" + value, Libc.errno());
    }

    /** fsync(2): data and all metadata on stable storage. */
    public static void fsync(Fd fd) throws LinuxException {
        int value = fd.value();
        if (Libc.fsync(value) < 0) throw new LinuxException("fsync", "fd=" + value, Libc.errno());
    }

    /** fallocate(2) with {@code FALLOC_FL_*} flags. EOPNOTSUPP means this filesystem cannot do that mode. */
    public static void fallocate(Fd fd, int mode, long offset, long length) throws LinuxException {
        int value = fd.value();
        if (Libc.fallocate(value, mode, offset, length) < 0) {
            throw new LinuxException("fallocate", "fd=" + value + ", mode=0x" + Integer.toHexString(mode) + ", offset="
                    + offset + ", len=" + length, Libc.errno());
        }
    }

    /** Deallocates a range, which then reads as zeros; the file keeps its size (DISCARD). */
    public static void punchHole(Fd fd, long offset, long length) throws LinuxException {
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
    }

    /**
     * Makes a range read as zeros while keeping it allocated (WRITE_ZEROES without unmap). Throws
     * LinuxException with EOPNOTSUPP on filesystems without FALLOC_FL_ZERO_RANGE (tmpfs, for one).
     */
    public static void zeroRange(Fd fd, long offset, long length) throws LinuxException {
        fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, length);
    }

    /** ftruncate(2): sets the file's size; growing a file leaves a sparse (unallocated) tail. */
    public static void truncate(Fd fd, long size) throws LinuxException {
        MemFd.truncate(fd, size);
    }

    private static void requireNative(MemorySegment segment) {
        if (!segment.isNative()) throw new IllegalArgumentException("file I/O needs a native segment, got " + segment);
    }
}

package io.jvdpa.blk;

import io.jvdpa.sys.Errno;
import io.jvdpa.sys.Fd;
import io.jvdpa.sys.FileIo;
import io.jvdpa.sys.IoVec;
import io.jvdpa.sys.LinuxException;
import io.jvdpa.sys.OpenFlags;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The raw image file behind a block device: positioned I/O straight between the file and guest memory (an
 * {@link IoVec} over a request's buffers), flushes, hole punching and zeroing. Safe to use from several queue
 * threads at once: nothing here moves a file offset.
 */
public final class BlkImage implements AutoCloseable {
    /** Writing zeros where the filesystem cannot zero a range: this many bytes per iovec entry. */
    private static final long ZERO_CHUNK = 1 << 20;
    private static final MemorySegment ZEROS = Arena.global().allocate(ZERO_CHUNK, 4096);

    private final Path path;
    private final Fd fd;
    private final long size;
    private final boolean readOnly;
    private final AtomicLong syncs = new AtomicLong();
    private volatile boolean zeroRangeUnsupported;
    private volatile boolean punchUnsupported;
    /** An fdatasync failed: see {@link #flush()}. */
    private volatile boolean syncFailed;

    private BlkImage(Path path, Fd fd, long size, boolean readOnly) {
        this.path = path;
        this.fd = fd;
        this.size = size;
        this.readOnly = readOnly;
    }

    /**
     * Opens the image at {@code path}; when it does not exist and {@code createSize} is positive, creates it sparse
     * with that many bytes.
     *
     * @param createSize the size to create with (a multiple of 512), or 0 to require an existing image
     * @throws IOException naming the path and what is wrong with it
     */
    public static BlkImage open(Path path, long createSize, boolean readOnly) throws IOException {
        if (createSize < 0 || createSize % VirtioBlk.SECTOR_SIZE != 0) {
            throw new IllegalArgumentException("image size " + createSize + " is not a positive multiple of 512 bytes");
        }
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !Files.exists(path)) {
            if (createSize == 0) {
                throw new IOException("image " + path + " does not exist (give --size to create a sparse one)");
            }
            if (readOnly) {
                throw new IOException("image " + path + " does not exist, and a read-only device cannot create it");
            }
            Fd created = Fd.open(path, OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_EXCL, 0644);
            try {
                FileIo.truncate(created, createSize);
            } catch (LinuxException e) {
                created.close();
                throw new IOException("cannot size new image " + path + " to " + createSize + " bytes: " + e.getMessage(), e);
            }
            return new BlkImage(path, created, createSize, false);
        }
        if (Files.isDirectory(path)) {
            throw new IOException("image " + path + " is a directory");
        }
        if (!Files.isRegularFile(path)) {
            throw new IOException("image " + path + " is not a regular file");
        }
        Fd opened;
        try {
            opened = Fd.open(path, readOnly ? OpenFlags.O_RDONLY : OpenFlags.O_RDWR, 0);
        } catch (LinuxException e) {
            throw new IOException("cannot open image " + path + (readOnly ? " for reading: " : " for reading and writing: ")
                    + e.getMessage(), e);
        }
        try {
            long size = opened.size();
            if (size < VirtioBlk.SECTOR_SIZE) {
                throw new IOException("image " + path + " has " + size + " bytes, less than one 512-byte sector");
            }
            if (createSize != 0 && createSize != size) {
                throw new IOException("image " + path + " exists with " + size + " bytes, not the " + createSize
                        + " that --size asks for");
            }
            return new BlkImage(path, opened, size, readOnly);
        } catch (IOException | RuntimeException e) {
            opened.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** The file's size in bytes. */
    public long size() {
        return size;
    }

    /** 512-byte sectors the guest sees; a partial sector at the end of the file is not part of the disk. */
    public long capacity() {
        return size >>> VirtioBlk.SECTOR_SHIFT;
    }

    public boolean readOnly() {
        return readOnly;
    }

    /** How many times the image was made durable (fdatasync): FLUSH, and image changes in writethrough. */
    public long syncs() {
        return syncs.get();
    }

    /** Reads into the buffers of {@code iov} from byte {@code offset}; returns the bytes read. */
    long read(IoVec iov, long offset) throws LinuxException {
        return FileIo.preadv(fd, iov, offset);
    }

    /** Writes all buffers of {@code iov} at byte {@code offset}: when it returns, the data is in the file. */
    void write(IoVec iov, long offset) throws LinuxException {
        FileIo.pwritevFully(fd, iov, offset);
    }

    /**
     * fdatasync: everything written so far is on stable storage. Once one has failed, every later one fails too:
     * Linux reports a writeback error to one fdatasync and leaves the pages it could not write clean, so the next
     * would succeed although writes before it never reached the disk (QEMU's file driver does the same). Opening
     * the image again (restarting the device) starts afresh.
     */
    void flush() throws LinuxException {
        if (syncFailed) {
            throw new LinuxException("fdatasync", "fd=" + fd.value()
                    + "; an earlier fdatasync failed, so data written before it may not be on the disk", Errno.EIO);
        }
        try {
            FileIo.fdatasync(fd);
        } catch (LinuxException e) {
            syncFailed = true;
            throw e;
        }
        syncs.incrementAndGet();
    }

    /** Deallocates a range (DISCARD). Where the filesystem cannot punch holes a discard does nothing, as allowed. */
    void discard(long offset, long length) throws LinuxException {
        if (punchUnsupported) {
            return;
        }
        try {
            FileIo.punchHole(fd, offset, length);
        } catch (LinuxException e) {
            if (e.errno() != Errno.EOPNOTSUPP) {
                throw e;
            }
            punchUnsupported = true;
        }
    }

    /**
     * Makes a range read as zeros (WRITE_ZEROES): deallocated when {@code unmap} allows, otherwise kept allocated.
     * Falls back to punch-and-allocate, then to writing zeros, where the filesystem lacks a mode.
     *
     * @param scratch an iovec the caller owns, for the write-zeros fallback
     */
    void writeZeroes(long offset, long length, boolean unmap, IoVec scratch) throws LinuxException {
        if (unmap && !punchUnsupported) {
            try {
                FileIo.punchHole(fd, offset, length);
                return;
            } catch (LinuxException e) {
                if (e.errno() != Errno.EOPNOTSUPP) {
                    throw e;
                }
                punchUnsupported = true;
            }
        }
        if (!zeroRangeUnsupported) {
            try {
                FileIo.zeroRange(fd, offset, length);
                return;
            } catch (LinuxException e) {
                if (e.errno() != Errno.EOPNOTSUPP) {
                    throw e;
                }
                zeroRangeUnsupported = true;
            }
        }
        if (!punchUnsupported) {
            // tmpfs: a punched range reads as zeros; allocating it again keeps the space the guest expects.
            FileIo.punchHole(fd, offset, length);
            FileIo.fallocate(fd, 0, offset, length);
            return;
        }
        long done = 0;
        while (done < length) {
            scratch.clear();
            while (done + scratch.byteSize() < length && scratch.count() < scratch.capacity()) {
                scratch.add(ZEROS, 0, Math.min(ZERO_CHUNK, length - done - scratch.byteSize()));
            }
            FileIo.pwritevFully(fd, scratch, offset + done);
            done += scratch.byteSize();
        }
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "BlkImage[" + path + ", " + size + " bytes" + (readOnly ? ", read-only" : "") + "]";
    }
}

package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A shared mapping of a file (mmap(2) with MAP_SHARED), seen as a native {@link MemorySegment} of exactly
 * the mapped length. The segment belongs to a shared arena whose closing unmaps the memory, so an access
 * after {@link #close()} throws {@link IllegalStateException} instead of faulting.
 */
public final class Mapping implements AutoCloseable {
    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_SHARED = 0x01;
    private static final long MAP_FAILED = -1L;

    private final Arena arena;
    private final MemorySegment segment;
    private final long offset;
    private final boolean readOnly;
    /** The mapped file (st_dev, st_ino), to tell whether another fd names the same one. */
    private final long fileDevice;
    private final long fileInode;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Mapping(Arena arena, MemorySegment segment, long offset, boolean readOnly, Stat file) {
        this.arena = arena;
        this.segment = segment;
        this.offset = offset;
        this.readOnly = readOnly;
        this.fileDevice = file.device();
        this.fileInode = file.inode();
    }

    /** Maps {@code length} bytes of {@code fd} from {@code offset}, readable and writable. */
    public static Mapping map(Fd fd, long offset, long length) throws LinuxException {
        return map(fd, offset, length, false);
    }

    /**
     * Maps {@code length} bytes of {@code fd} from {@code offset}.
     *
     * <p>For regular files and memfds the range must lie inside the file: a mapping past end-of-file faults
     * (SIGBUS) on access, which would kill the JVM, so it is refused up front.
     *
     * @param offset   a multiple of the page size (4096)
     * @param readOnly map PROT_READ only and hand out a read-only segment
     * @throws IllegalArgumentException when the range is empty, negative, unaligned or past the end of the file
     * @throws LinuxException           when fstat or mmap fails
     */
    @SuppressWarnings("restricted") // the length comes from the mmap that just succeeded
    public static Mapping map(Fd fd, long offset, long length, boolean readOnly) throws LinuxException {
        int value = fd.value();
        if (length <= 0) throw new IllegalArgumentException("mapping length must be positive, was " + length);
        if (offset < 0) throw new IllegalArgumentException("mapping offset must not be negative, was " + offset);
        if (offset % Libc.PAGE_SIZE != 0) {
            throw new IllegalArgumentException("mapping offset " + offset + " (0x" + Long.toHexString(offset)
                    + ") is not a multiple of the page size " + Libc.PAGE_SIZE);
        }
        Stat stat = Stat.of(value);
        if (stat.isRegularFile() && (offset > stat.size() || length > stat.size() - offset)) {
            throw new IllegalArgumentException("mapping of fd " + value + " at offset " + offset + " with length "
                    + length + " ends past the end of the file (size " + stat.size() + ")");
        }
        int prot = readOnly ? PROT_READ : PROT_READ | PROT_WRITE;
        long address = Libc.mmap(length, prot, MAP_SHARED, value, offset);
        if (address == MAP_FAILED) {
            throw new LinuxException("mmap", "fd=" + value + ", len=" + length + ", offset=" + offset
                    + (readOnly ? ", PROT_READ" : ", PROT_READ|PROT_WRITE") + ", MAP_SHARED", Libc.errno());
        }
        Arena arena = Arena.ofShared();
        // munmap cannot fail for a range mmap returned; nothing useful to do if it did.
        MemorySegment segment = MemorySegment.ofAddress(address)
                .reinterpret(length, arena, s -> Libc.munmap(address, length));
        return new Mapping(arena, readOnly ? segment.asReadOnly() : segment, offset, readOnly, stat);
    }

    /** The mapped bytes; invalid (IllegalStateException on access) once this mapping is closed. */
    public MemorySegment segment() {
        return segment;
    }

    public long length() {
        return segment.byteSize();
    }

    /** The file offset the mapping starts at. */
    public long offset() {
        return offset;
    }

    public boolean readOnly() {
        return readOnly;
    }

    /**
     * Whether mapping {@code length} bytes of {@code fd} from {@code offset} would give this mapping's bytes again:
     * the same file (device and inode), offset, length and protection, and this mapping still open.
     */
    public boolean sameAs(Fd fd, long offset, long length, boolean readOnly) throws LinuxException {
        if (!isOpen() || offset != this.offset || length != segment.byteSize() || readOnly != this.readOnly) {
            return false;
        }
        Stat file = Stat.of(fd.value());
        return file.device() == fileDevice && file.inode() == fileInode;
    }

    public boolean isOpen() {
        return !closed.get();
    }

    /** Unmaps; later calls do nothing. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) arena.close();
    }

    @Override
    public String toString() {
        return "Mapping[0x" + Long.toHexString(segment.address()) + ", length=" + segment.byteSize() + ", offset="
                + offset + (readOnly ? ", read-only" : "") + (isOpen() ? "" : ", closed") + "]";
    }
}

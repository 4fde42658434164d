package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static io.jvdpa.sys.SocketLayouts.IOVEC;
import static io.jvdpa.sys.SocketLayouts.IOV_BASE;
import static io.jvdpa.sys.SocketLayouts.IOV_LEN;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A reusable native {@code struct iovec} array for readv/writev: a descriptor chain's buffers handed to the
 * kernel in one call, without copying. Filling it allocates nothing. Not thread-safe.
 *
 * <p>It records raw addresses: the segments added must stay alive until the call that uses them returns.
 */
public final class IoVec {
    /** Linux's IOV_MAX. */
    public static final int MAX = 1024;

    private final MemorySegment array;
    private final int capacity;
    private int count;
    private long bytes;

    public IoVec(int capacity) {
        if (capacity < 1 || capacity > MAX) throw new IllegalArgumentException("capacity must be 1.." + MAX + ", was " + capacity);
        this.capacity = capacity;
        this.array = Arena.ofAuto().allocate(IOVEC.byteSize() * capacity, 8);
    }

    /** Empties the array for the next chain. */
    public IoVec clear() {
        count = 0;
        bytes = 0;
        return this;
    }

    /** Appends all of {@code segment}, which must be native. */
    public IoVec add(MemorySegment segment) {
        return add(segment, 0, segment.byteSize());
    }

    /** Appends {@code length} bytes of {@code segment} from {@code offset}, checked against its bounds. */
    public IoVec add(MemorySegment segment, long offset, long length) {
        if (!segment.isNative()) throw new IllegalArgumentException("iovec needs native memory, got " + segment);
        if (offset < 0 || length < 0 || length > segment.byteSize() - offset) {
            throw new IndexOutOfBoundsException("range offset " + offset + " length " + length + " outside segment of "
                    + segment.byteSize() + " bytes");
        }
        if (count == capacity) throw new IllegalStateException("iovec full: " + capacity + " entries");
        long entry = IOVEC.byteSize() * count;
        array.set(JAVA_LONG, entry + IOV_BASE, segment.address() + offset);
        array.set(JAVA_LONG, entry + IOV_LEN, length);
        count++;
        bytes += length;
        return this;
    }

    public int count() {
        return count;
    }

    public int capacity() {
        return capacity;
    }

    /** Sum of the lengths added. */
    public long byteSize() {
        return bytes;
    }

    /** Base address of entry {@code i}. */
    long address(int i) {
        return array.get(JAVA_LONG, IOVEC.byteSize() * i + IOV_BASE);
    }

    /** Length of entry {@code i}. */
    long length(int i) {
        return array.get(JAVA_LONG, IOVEC.byteSize() * i + IOV_LEN);
    }

    MemorySegment array() {
        return array;
    }
}

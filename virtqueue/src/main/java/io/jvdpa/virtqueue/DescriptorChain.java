package io.jvdpa.virtqueue;

import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.GuestMemory;
import io.jvdpa.memory.GuestRegion;
import java.lang.foreign.MemorySegment;

/**
 * One available buffer as the device sees it, filled by {@link DeviceQueue#pop} and reused for the next pop.
 *
 * <p>The buffer is a list of segments over guest memory: device-readable segments first (indices
 * {@code 0..readableSegments()-1}), device-writable ones after them. Segment {@code i} is the bytes
 * {@code [segmentOffset(i), segmentOffset(i) + segmentLength(i))} of {@code segmentBase(i)}, which is the whole
 * segment of a guest memory region, so device code copies with {@link MemorySegment#copy} without making slices.
 * A descriptor that runs from one memory region into the next becomes two segments; zero-length descriptors
 * make none. Every segment was checked against the memory map before pop returned.
 *
 * <p>{@link #reader()} and {@link #writer()} are sequential cursors over the two halves.
 */
public final class DescriptorChain {
    private static final int INITIAL_CAPACITY = 8;
    private static final long MAX_CHAIN_BYTES = 0xFFFF_FFFFL;

    private MemorySegment[] bases = new MemorySegment[INITIAL_CAPACITY];
    private long[] offsets = new long[INITIAL_CAPACITY];
    private int[] lengths = new int[INITIAL_CAPACITY];
    private long[] addresses = new long[INITIAL_CAPACITY];
    private int segments;
    private int readable;
    private long readableBytes;
    private long writableBytes;
    private long totalBytes;
    private boolean sawWritable;
    private int headId;
    private int descriptorCount;
    private DirtyLog log = DirtyLog.NONE;
    private final ChainReader reader = new ChainReader(this);
    private final ChainWriter writer = new ChainWriter(this);

    public DescriptorChain() {}

    /**
     * The buffer's id: a split ring's head descriptor index, or a packed ring's Buffer ID. It goes back to the
     * driver in the used entry.
     */
    public int headId() {
        return headId;
    }

    /**
     * How many descriptors the chain took in the ring (an indirect table counts once). A packed ring's used
     * entry advances the ring by this many positions (VIRTIO 1.2 §2.8.6).
     */
    public int descriptorCount() {
        return descriptorCount;
    }

    public int segmentCount() {
        return segments;
    }

    public int readableSegments() {
        return readable;
    }

    public int writableSegments() {
        return segments - readable;
    }

    /** Index of the first device-writable segment (equals {@link #readableSegments()}). */
    public int firstWritable() {
        return readable;
    }

    public MemorySegment segmentBase(int i) {
        check(i);
        return bases[i];
    }

    public long segmentOffset(int i) {
        check(i);
        return offsets[i];
    }

    public int segmentLength(int i) {
        check(i);
        return lengths[i];
    }

    /** Guest-physical address of segment {@code i} (for dirty logging and diagnostics). */
    public long segmentAddress(int i) {
        check(i);
        return addresses[i];
    }

    public boolean isWritable(int i) {
        check(i);
        return i >= readable;
    }

    public long readableBytes() {
        return readableBytes;
    }

    public long writableBytes() {
        return writableBytes;
    }

    /** The cursor over the device-readable bytes, rewound by every pop. */
    public ChainReader reader() {
        return reader;
    }

    /** The cursor over the device-writable bytes, rewound by every pop. */
    public ChainWriter writer() {
        return writer;
    }

    /** Bytes the writer has written (its high-water mark): the used length for {@link DeviceQueue#addUsed}. */
    public long bytesWritten() {
        return writer.bytesWritten();
    }

    DirtyLog log() {
        return log;
    }

    long[] addresses() {
        return addresses;
    }

    MemorySegment[] bases() {
        return bases;
    }

    long[] offsets() {
        return offsets;
    }

    int[] lengths() {
        return lengths;
    }

    private void check(int i) {
        if (i < 0 || i >= segments) {
            throw new IndexOutOfBoundsException("segment " + i + " of " + segments);
        }
    }

    /** Starts filling the chain for a new pop. */
    void begin(DirtyLog dirtyLog) {
        segments = 0;
        readable = 0;
        readableBytes = 0;
        writableBytes = 0;
        totalBytes = 0;
        sawWritable = false;
        headId = 0;
        descriptorCount = 0;
        log = dirtyLog;
    }

    void finish(int id, int ringDescriptors) {
        headId = id;
        descriptorCount = ringDescriptors;
        reader.rewind();
        writer.rewind();
    }

    /**
     * Adds one descriptor's buffer after checking it: readable before writable (VIRTIO 1.2 §2.7.4.2, §2.8.17),
     * addr+len not wrapping the 64-bit space, the chain's total within 2^32-1 bytes (§2.7.5.2: the used length is
     * 32 bits), and every byte inside guest memory. Nothing is accessed here.
     */
    void addBuffer(long addr, long len, boolean writable, GuestMemory memory) {
        if (writable) {
            sawWritable = true;
        } else if (sawWritable) {
            throw new RingViolation("device-readable descriptor [0x%x, +%d) follows a device-writable one"
                    .formatted(addr, len) + " (VIRTIO 1.2 §2.7.4.2, §2.8.17)");
        }
        if (len == 0) {
            return;
        }
        if (Long.compareUnsigned(addr + len - 1, addr) < 0) {
            throw new RingViolation("descriptor [0x%x, +%d) wraps the address space (VIRTIO 1.2 §2.7.5)"
                    .formatted(addr, len));
        }
        totalBytes += len;
        if (totalBytes > MAX_CHAIN_BYTES) {
            throw new RingViolation("descriptor chain totals %d bytes, more than 2^32-1 (VIRTIO 1.2 §2.7.5.2)"
                    .formatted(totalBytes));
        }
        long gpa = addr;
        long left = len;
        while (left > 0) {
            GuestRegion region = memory.regionAt(gpa);
            if (region == null) {
                throw new RingViolation("descriptor [0x%x, +%d) reaches 0x%x, outside guest memory (VIRTIO 1.2 §2.7.5)"
                        .formatted(addr, len, gpa));
            }
            long offset = gpa - region.guestPhysAddr();
            // A segment length is an int: a descriptor over 2 GiB becomes several segments.
            long piece = Math.min(Math.min(left, region.size() - offset), Integer.MAX_VALUE);
            append(region.segment(), offset, (int) piece, gpa, writable);
            gpa += piece;
            left -= piece;
        }
    }

    private void append(MemorySegment base, long offset, int length, long gpa, boolean writable) {
        if (segments == bases.length) {
            grow();
        }
        int i = segments++;
        if (bases[i] != base) {
            // Usually the same region as the last chain's: skipping the store skips its array type check and GC
            // barrier, which cost more than the rest of a descriptor.
            bases[i] = base;
        }
        offsets[i] = offset;
        lengths[i] = length;
        addresses[i] = gpa;
        if (writable) {
            writableBytes += length;
        } else {
            readable++;
            readableBytes += length;
        }
    }

    /** Rare: a chain with more segments than any before it. Steady state never gets here. */
    private void grow() {
        int n = bases.length * 2;
        bases = java.util.Arrays.copyOf(bases, n);
        offsets = java.util.Arrays.copyOf(offsets, n);
        lengths = java.util.Arrays.copyOf(lengths, n);
        addresses = java.util.Arrays.copyOf(addresses, n);
    }

    @Override
    public String toString() {
        return "DescriptorChain[id=%d, descriptors=%d, readable=%d segments/%d bytes, writable=%d segments/%d bytes]"
                .formatted(headId, descriptorCount, readable, readableBytes, segments - readable, writableBytes);
    }
}

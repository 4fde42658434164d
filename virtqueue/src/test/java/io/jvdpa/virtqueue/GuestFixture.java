package io.jvdpa.virtqueue;

import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import io.jvdpa.memory.GuestMemory;
import io.jvdpa.memory.GuestRegion;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Guest memory for ring tests: two adjacent regions (so a buffer can run from one into the other), rings at the
 * start of the first one, an indirect table pool after them, and the rest handed out as buffer space.
 */
final class GuestFixture implements AutoCloseable {
    static final long GPA_A = 0x1_0000;
    static final long SIZE_A = 1 << 20;
    static final long GPA_B = GPA_A + SIZE_A;
    static final long SIZE_B = 1 << 20;
    static final long RING_AREA = 512 * 1024;
    static final int MAX_PER_TABLE = 8;

    final Arena arena = Arena.ofShared();
    final MemorySegment a = arena.allocate(SIZE_A, 4096);
    final MemorySegment b = arena.allocate(SIZE_B, 4096);
    final GuestMemory memory = GuestMemory.of(GuestRegion.of(GPA_A, 0x7f00_0000_0000L, a),
            GuestRegion.of(GPA_B, 0x7f00_1000_0000L, b));
    final VirtqueueFeatures features;
    final RingLayout layout;
    final RingAreas areas;
    final long ringGpa = GPA_A;
    final MemorySegment pool;
    final long poolGpa;
    /** Buffer space: from here to the end of region B. */
    final long dataStart;
    private long nextData;

    GuestFixture(VirtqueueFeatures features, boolean legacyLayout) {
        this.features = features;
        this.layout = legacyLayout ? RingLayout.legacy(features.queueSize()) : RingLayout.of(features);
        this.areas = layout.areas(a.asSlice(0, layout.byteSize()));
        long poolOffset = (layout.byteSize() + 4095) & -4096L;
        long poolSize = (long) features.queueSize() * MAX_PER_TABLE * Desc.SIZE;
        this.pool = a.asSlice(poolOffset, poolSize);
        this.poolGpa = GPA_A + poolOffset;
        this.dataStart = Math.max(GPA_A + RING_AREA, (poolGpa + poolSize + 4095) & -4096L);
        this.nextData = dataStart;
        if (dataStart >= GPA_B) {
            throw new IllegalStateException("rings too big for the fixture");
        }
    }

    DriverQueue driver(RingState start) {
        DriverQueue d = DriverQueue.create(features, areas, start);
        if (features.indirectDesc()) {
            d.setIndirectPool(pool, poolGpa, MAX_PER_TABLE);
        }
        return d;
    }

    DeviceQueue device(RingState start) {
        return device(start, DirtyLog.NONE);
    }

    DeviceQueue device(RingState start, DirtyLog log) {
        long logAddr = ringGpa + (features.packed() ? layout.descOffset() : layout.deviceOffset());
        return DeviceQueue.create(features, areas, memory, log, logAddr, ringGpa + layout.deviceOffset(), start);
    }

    /** Hands out {@code len} bytes of buffer space that no earlier allocation since {@link #resetData} uses. */
    long allocate(int len) {
        if (nextData + len > GPA_B + SIZE_B) {
            throw new IllegalStateException("buffer space exhausted");
        }
        long gpa = nextData;
        nextData += len;
        return gpa;
    }

    /** Makes the next allocation start {@code before} bytes ahead of the A/B boundary, if that is still ahead. */
    void straddleNext(int before) {
        nextData = Math.max(nextData, GPA_B - before);
    }

    /** Forgets every allocation (when all buffers are back). */
    void resetData() {
        nextData = dataStart;
    }

    void write(long gpa, byte[] data) {
        for (int i = 0; i < data.length; i++) {
            segmentFor(gpa + i).set(ValueLayout.JAVA_BYTE, offsetFor(gpa + i), data[i]);
        }
    }

    byte[] read(long gpa, int len) {
        byte[] out = new byte[len];
        for (int i = 0; i < len; i++) {
            out[i] = segmentFor(gpa + i).get(ValueLayout.JAVA_BYTE, offsetFor(gpa + i));
        }
        return out;
    }

    void fill(long gpa, int len, byte value) {
        for (int i = 0; i < len; i++) {
            segmentFor(gpa + i).set(ValueLayout.JAVA_BYTE, offsetFor(gpa + i), value);
        }
    }

    private MemorySegment segmentFor(long gpa) {
        return gpa >= GPA_B ? b : a;
    }

    private long offsetFor(long gpa) {
        return gpa >= GPA_B ? gpa - GPA_B : gpa - GPA_A;
    }

    /** Writes a split descriptor straight into a table (for hostile rings). */
    static void splitDesc(MemorySegment table, Endianness o, int i, long addr, long len, int flags, int next) {
        long off = (long) Desc.SIZE * i;
        o.putU64(table, off + Desc.ADDR, addr);
        o.putU32(table, off + Desc.LEN, len);
        o.putU16(table, off + Desc.SPLIT_FLAGS, flags);
        o.putU16(table, off + Desc.SPLIT_NEXT, next);
    }

    /** Writes a packed descriptor straight into a ring or table (for hostile rings). */
    static void packedDesc(MemorySegment table, Endianness o, int i, long addr, long len, int id, int flags) {
        long off = (long) Desc.SIZE * i;
        o.putU64(table, off + Desc.ADDR, addr);
        o.putU32(table, off + Desc.LEN, len);
        o.putU16(table, off + Desc.PACKED_ID, id);
        o.putU16(table, off + Desc.PACKED_FLAGS, flags);
    }

    @Override
    public void close() {
        arena.close();
    }
}

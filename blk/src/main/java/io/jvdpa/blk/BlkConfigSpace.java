package io.jvdpa.blk;

import io.jvdpa.memory.Endianness;
import java.lang.foreign.MemorySegment;

/**
 * struct virtio_blk_config (VIRTIO 1.2 §5.2.4): field offsets, the limits this device announces, and the
 * encoding in the driver's byte order (little-endian for a modern driver, the guest's own for a legacy one).
 */
public final class BlkConfigSpace {
    private BlkConfigSpace() {}

    public static final int CAPACITY = 0;
    public static final int SIZE_MAX = 8;
    public static final int SEG_MAX = 12;
    public static final int GEOMETRY = 16;
    public static final int BLK_SIZE = 20;
    public static final int PHYSICAL_BLOCK_EXP = 24;
    public static final int ALIGNMENT_OFFSET = 25;
    public static final int MIN_IO_SIZE = 26;
    public static final int OPT_IO_SIZE = 28;
    public static final int WRITEBACK = 32;
    public static final int NUM_QUEUES = 34;
    public static final int MAX_DISCARD_SECTORS = 36;
    public static final int MAX_DISCARD_SEG = 40;
    public static final int DISCARD_SECTOR_ALIGNMENT = 44;
    public static final int MAX_WRITE_ZEROES_SECTORS = 48;
    public static final int MAX_WRITE_ZEROES_SEG = 52;
    public static final int WRITE_ZEROES_MAY_UNMAP = 56;
    /** Up to and including the secure-erase fields, which stay zero (SECURE_ERASE is not offered). */
    public static final int SIZE = 72;

    /** The largest segment (descriptor) a request may use. */
    public static final int SIZE_MAX_BYTES = 1 << 20;
    /** Data segments per request: a 128-entry queue minus header and status, as drivers expect. */
    public static final int SEG_MAX_SEGMENTS = 126;
    public static final int BLOCK_SIZE = VirtioBlk.SECTOR_SIZE;
    /** Sectors per discard / write-zeroes segment (2 GiB). */
    public static final int MAX_DISCARD_SECTORS_VALUE = 1 << 22;
    public static final int MAX_DISCARD_SEGMENTS = 32;
    /** Hole punching works in pages: announce 4 KiB granularity (in sectors). */
    public static final int DISCARD_ALIGNMENT_SECTORS = 8;

    /** The config space for a disk of {@code capacity} sectors with {@code queues} queues. */
    public static byte[] encode(long capacity, int queues, boolean writeback, Endianness order) {
        byte[] bytes = new byte[SIZE];
        MemorySegment c = MemorySegment.ofArray(bytes);
        order.putU64(c, CAPACITY, capacity);
        order.putU32(c, SIZE_MAX, SIZE_MAX_BYTES);
        order.putU32(c, SEG_MAX, SEG_MAX_SEGMENTS);
        order.putU32(c, BLK_SIZE, BLOCK_SIZE);
        Endianness.putU8(c, PHYSICAL_BLOCK_EXP, 0);
        Endianness.putU8(c, ALIGNMENT_OFFSET, 0);
        order.putU16(c, MIN_IO_SIZE, 1);
        order.putU32(c, OPT_IO_SIZE, 0);
        Endianness.putU8(c, WRITEBACK, writeback ? 1 : 0);
        order.putU16(c, NUM_QUEUES, queues);
        order.putU32(c, MAX_DISCARD_SECTORS, MAX_DISCARD_SECTORS_VALUE);
        order.putU32(c, MAX_DISCARD_SEG, MAX_DISCARD_SEGMENTS);
        order.putU32(c, DISCARD_SECTOR_ALIGNMENT, DISCARD_ALIGNMENT_SECTORS);
        order.putU32(c, MAX_WRITE_ZEROES_SECTORS, MAX_DISCARD_SECTORS_VALUE);
        order.putU32(c, MAX_WRITE_ZEROES_SEG, MAX_DISCARD_SEGMENTS);
        Endianness.putU8(c, WRITE_ZEROES_MAY_UNMAP, 1);
        return bytes;
    }
}

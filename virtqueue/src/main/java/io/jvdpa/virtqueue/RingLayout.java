package io.jvdpa.virtqueue;

import java.lang.foreign.MemorySegment;

/**
 * Where the three areas of one queue go when a driver lays them out in one block of memory.
 *
 * <p>{@link #legacy} is the layout a legacy (virtio 0.9.5) driver must use and that a transitional device then
 * receives as three addresses (VIRTIO 1.2 §2.7.2): descriptor table, available ring (with used_event), padding
 * to the next Queue Align boundary (4096 on PCI), used ring. The others pack the areas at their minimum
 * alignment. Offsets are from the start of the block, which must itself be aligned to {@link #blockAlign()}.
 */
public record RingLayout(int queueSize, boolean packed, long descOffset, long driverOffset, long deviceOffset,
        long byteSize, int blockAlign) {
    public static final int LEGACY_QUEUE_ALIGN = 4096;

    public static RingLayout of(VirtqueueFeatures features) {
        return features.packed() ? packed(features.queueSize()) : split(features.queueSize());
    }

    /** Split ring, areas back to back at their minimum alignment (§2.7: 16, 2, 4). */
    public static RingLayout split(int queueSize) {
        long avail = SplitRing.descTableSize(queueSize);
        long used = alignUp(avail + SplitRing.availRingSize(queueSize), SplitRing.USED_ALIGN);
        return new RingLayout(queueSize, false, 0, avail, used, used + SplitRing.usedRingSize(queueSize),
                SplitRing.DESC_ALIGN);
    }

    /** The legacy contiguous layout with a 4096-byte Queue Align. */
    public static RingLayout legacy(int queueSize) {
        return legacy(queueSize, LEGACY_QUEUE_ALIGN);
    }

    /** The legacy contiguous layout (§2.7.2 virtq_size): used ring at the next {@code queueAlign} boundary. */
    public static RingLayout legacy(int queueSize, int queueAlign) {
        if (Integer.bitCount(queueAlign) != 1 || queueAlign < SplitRing.DESC_ALIGN) {
            throw new IllegalArgumentException("queue align %d is not a power of two >= 16".formatted(queueAlign));
        }
        long avail = SplitRing.descTableSize(queueSize);
        long used = alignUp(avail + SplitRing.availRingSize(queueSize), queueAlign);
        long total = used + alignUp(SplitRing.usedRingSize(queueSize), queueAlign);
        return new RingLayout(queueSize, false, 0, avail, used, total, queueAlign);
    }

    /** Packed ring: descriptor ring, then driver and device event suppression (§2.8.10.1: 16, 4, 4). */
    public static RingLayout packed(int queueSize) {
        long driver = PackedRing.descRingSize(queueSize);
        long device = driver + PackedRing.EVENT_SUPPRESSION_SIZE;
        return new RingLayout(queueSize, true, 0, driver, device, device + PackedRing.EVENT_SUPPRESSION_SIZE,
                PackedRing.DESC_ALIGN);
    }

    /** The three areas inside {@code block} (which must be at least {@link #byteSize()} bytes). */
    public RingAreas areas(MemorySegment block) {
        if (block.byteSize() < byteSize) {
            throw new IllegalArgumentException("ring block of %d bytes is smaller than the layout's %d"
                    .formatted(block.byteSize(), byteSize));
        }
        return new RingAreas(block.asSlice(descOffset, driverOffset - descOffset),
                block.asSlice(driverOffset, deviceOffset - driverOffset),
                block.asSlice(deviceOffset, byteSize - deviceOffset));
    }

    private static long alignUp(long value, long align) {
        return (value + align - 1) & -align;
    }
}

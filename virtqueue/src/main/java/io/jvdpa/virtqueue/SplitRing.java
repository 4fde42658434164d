package io.jvdpa.virtqueue;

import java.lang.foreign.MemorySegment;

/** Layout of a split virtqueue's available and used rings (VIRTIO 1.2 §2.7.6, §2.7.8) and the area checks. */
public final class SplitRing {
    public static final int AVAIL_FLAGS = 0;
    public static final int AVAIL_IDX = 2;
    public static final int AVAIL_RING = 4;
    public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

    public static final int USED_FLAGS = 0;
    public static final int USED_IDX = 2;
    public static final int USED_RING = 4;
    public static final int USED_ELEM_SIZE = 8;
    public static final int USED_ELEM_ID = 0;
    public static final int USED_ELEM_LEN = 4;
    public static final int VIRTQ_USED_F_NO_NOTIFY = 1;

    public static final int DESC_ALIGN = 16;
    public static final int AVAIL_ALIGN = 2;
    public static final int USED_ALIGN = 4;

    private SplitRing() {}

    public static long descTableSize(int queueSize) {
        return (long) Desc.SIZE * queueSize;
    }

    /** flags, idx, ring[size], used_event. */
    public static long availRingSize(int queueSize) {
        return 6 + 2L * queueSize;
    }

    /** flags, idx, ring[size], avail_event. */
    public static long usedRingSize(int queueSize) {
        return 6 + 8L * queueSize;
    }

    /** Offset of used_event, after the avail ring entries (§2.7.6). */
    public static long usedEventOffset(int queueSize) {
        return AVAIL_RING + 2L * queueSize;
    }

    /** Offset of avail_event, after the used ring entries (§2.7.8). */
    public static long availEventOffset(int queueSize) {
        return USED_RING + 8L * queueSize;
    }

    /**
     * Refuses ring areas that are too small or misaligned (VIRTIO 1.2 §2.7.1: descriptor table 16, available ring
     * 2, used ring 4). Ring indices are read with single aligned accesses, which need this alignment.
     */
    static void checkAreas(int queueSize, MemorySegment desc, MemorySegment avail, MemorySegment used) {
        RingAreas.check("descriptor table", desc, descTableSize(queueSize), DESC_ALIGN, "§2.7.1");
        RingAreas.check("available ring", avail, availRingSize(queueSize), AVAIL_ALIGN, "§2.7.1");
        RingAreas.check("used ring", used, usedRingSize(queueSize), USED_ALIGN, "§2.7.1");
    }
}

package io.jvdpa.virtqueue;

/**
 * Descriptor layout and flags shared by both formats (VIRTIO 1.2 §2.7.5 struct virtq_desc and §2.8.13 struct
 * pvirtq_desc): both are 16 bytes with addr at 0 and len at 8; a split descriptor then has flags and next, a
 * packed one id and flags.
 */
public final class Desc {
    public static final int SIZE = 16;
    public static final int ADDR = 0;
    public static final int LEN = 8;
    /** Split: flags at 12, next at 14. */
    public static final int SPLIT_FLAGS = 12;
    public static final int SPLIT_NEXT = 14;
    /** Packed: buffer id at 12, flags at 14. */
    public static final int PACKED_ID = 12;
    public static final int PACKED_FLAGS = 14;

    public static final int F_NEXT = 1;
    public static final int F_WRITE = 2;
    public static final int F_INDIRECT = 4;
    /** Packed ring only (§2.8.1). */
    public static final int F_AVAIL = 1 << 7;
    public static final int F_USED = 1 << 15;

    private Desc() {}
}

package io.jvdpa.device;

import io.jvdpa.memory.Endianness;

/**
 * Layout of the shared inflight area (vhost-user "Inflight I/O tracking"): one region per queue, each a header
 * and one entry per descriptor, as QueueRegionSplit / DescStateSplit and QueueRegionPacked / DescStatePacked
 * define them. The area outlives a back-end process, so it is laid out exactly as the C structures are.
 */
final class InflightLayout {
    private InflightLayout() {}

    /** The C structures are in the host's byte order: the area never leaves this machine. */
    static final Endianness ORDER = Endianness.nativeOrder();
    /** Per-queue regions start on a cache line. */
    static final long QUEUE_ALIGN = 64;
    /** The version this layout writes; 0 means a region no back-end has initialized yet. */
    static final int VERSION = 1;

    // QueueRegionSplit
    static final long FEATURES = 0;
    static final long VERSION_OFFSET = 8;
    static final long DESC_NUM = 10;
    static final long SPLIT_LAST_BATCH_HEAD = 12;
    static final long SPLIT_USED_IDX = 14;
    static final long SPLIT_DESC = 16;
    // DescStateSplit
    static final long SPLIT_ENTRY_SIZE = 16;
    static final long SPLIT_INFLIGHT = 0;
    static final long SPLIT_NEXT = 6;
    static final long SPLIT_COUNTER = 8;

    // QueueRegionPacked
    static final long PACKED_FREE_HEAD = 12;
    static final long PACKED_OLD_FREE_HEAD = 14;
    static final long PACKED_USED_IDX = 16;
    static final long PACKED_OLD_USED_IDX = 18;
    static final long PACKED_USED_WRAP = 20;
    static final long PACKED_OLD_USED_WRAP = 21;
    /** After 7 bytes of padding the entries start on 8 bytes (they hold u64 fields). */
    static final long PACKED_DESC = 32;
    // DescStatePacked
    static final long PACKED_ENTRY_SIZE = 32;
    static final long PACKED_INFLIGHT = 0;
    static final long PACKED_NEXT = 2;
    static final long PACKED_LAST = 4;
    static final long PACKED_NUM = 6;
    static final long PACKED_COUNTER = 8;
    static final long PACKED_ID = 16;
    static final long PACKED_FLAGS = 18;
    static final long PACKED_LEN = 20;
    static final long PACKED_ADDR = 24;

    /** Bytes one queue's region needs for {@code queueSize} descriptors. */
    static long queueRegionSize(int queueSize, boolean packed) {
        long raw = packed ? PACKED_DESC + PACKED_ENTRY_SIZE * queueSize : SPLIT_DESC + SPLIT_ENTRY_SIZE * queueSize;
        return (raw + QUEUE_ALIGN - 1) & -QUEUE_ALIGN;
    }

    static long splitEntry(int index) {
        return SPLIT_DESC + SPLIT_ENTRY_SIZE * index;
    }

    static long packedEntry(int index) {
        return PACKED_DESC + PACKED_ENTRY_SIZE * index;
    }
}

package io.jvdpa.virtqueue;

import io.jvdpa.memory.Endianness;
import java.util.Objects;

/**
 * What one queue was set up with: its size, its format and the ring features the driver accepted, and the byte
 * order of every ring field (VERSION_1 means little-endian; a legacy driver uses its own native order).
 *
 * @param queueSize     number of descriptors: 1..32768, a power of two for a split ring (VIRTIO 1.2 §2.7);
 *                      any value up to 2^15 for a packed ring (§2.8.10.1)
 * @param packed        VIRTIO_F_RING_PACKED
 * @param eventIdx      VIRTIO_F_EVENT_IDX (used_event / avail_event, packed RING_EVENT_FLAGS_DESC)
 * @param indirectDesc  VIRTIO_F_INDIRECT_DESC
 * @param order         byte order of ring fields and descriptors
 */
public record VirtqueueFeatures(int queueSize, boolean packed, boolean eventIdx, boolean indirectDesc,
        Endianness order) {
    public static final int VIRTIO_F_INDIRECT_DESC = 28;
    public static final int VIRTIO_F_EVENT_IDX = 29;
    public static final int VIRTIO_F_VERSION_1 = 32;
    public static final int VIRTIO_F_RING_PACKED = 34;
    /** The largest queue size either format allows (VIRTIO 1.2 §2.7 and §2.8). */
    public static final int MAX_QUEUE_SIZE = 32768;

    public VirtqueueFeatures {
        Objects.requireNonNull(order, "order");
        if (queueSize < 1 || queueSize > MAX_QUEUE_SIZE) {
            throw new IllegalArgumentException("queue size %d is outside 1..%d (VIRTIO 1.2 §2.7, §2.8)"
                    .formatted(queueSize, MAX_QUEUE_SIZE));
        }
        if (!packed && Integer.bitCount(queueSize) != 1) {
            throw new IllegalArgumentException(
                    "split queue size %d is not a power of two (VIRTIO 1.2 §2.7)".formatted(queueSize));
        }
    }

    public static VirtqueueFeatures split(int queueSize, Endianness order) {
        return new VirtqueueFeatures(queueSize, false, false, false, order);
    }

    public static VirtqueueFeatures packed(int queueSize, Endianness order) {
        return new VirtqueueFeatures(queueSize, true, false, false, order);
    }

    /**
     * The queue as negotiated: format and ring features from the feature bits; little-endian when VERSION_1 was
     * negotiated, otherwise {@code legacyOrder} (the guest's native order, e.g. from SET_VRING_ENDIAN).
     */
    public static VirtqueueFeatures fromFeatureBits(long features, int queueSize, Endianness legacyOrder) {
        Endianness order = has(features, VIRTIO_F_VERSION_1) ? Endianness.LITTLE : legacyOrder;
        return new VirtqueueFeatures(queueSize, has(features, VIRTIO_F_RING_PACKED), has(features, VIRTIO_F_EVENT_IDX),
                has(features, VIRTIO_F_INDIRECT_DESC), order);
    }

    private static boolean has(long features, int bit) {
        return (features & (1L << bit)) != 0;
    }

    public VirtqueueFeatures withEventIdx(boolean on) {
        return new VirtqueueFeatures(queueSize, packed, on, indirectDesc, order);
    }

    public VirtqueueFeatures withIndirectDesc(boolean on) {
        return new VirtqueueFeatures(queueSize, packed, eventIdx, on, order);
    }

    public VirtqueueFeatures withOrder(Endianness newOrder) {
        return new VirtqueueFeatures(queueSize, packed, eventIdx, indirectDesc, newOrder);
    }

    public VirtqueueFeatures withQueueSize(int size) {
        return new VirtqueueFeatures(size, packed, eventIdx, indirectDesc, order);
    }
}

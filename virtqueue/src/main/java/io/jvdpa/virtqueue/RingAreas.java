package io.jvdpa.virtqueue;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * The three areas of one virtqueue (VIRTIO 1.2 §2.6): descriptor area, driver area (split: available ring;
 * packed: driver event suppression) and device area (split: used ring; packed: device event suppression).
 */
public record RingAreas(MemorySegment descriptors, MemorySegment driverArea, MemorySegment deviceArea) {
    public RingAreas {
        Objects.requireNonNull(descriptors, "descriptors");
        Objects.requireNonNull(driverArea, "driverArea");
        Objects.requireNonNull(deviceArea, "deviceArea");
    }

    /** Checks the areas against the sizes and alignments of the given queue's format. */
    public void check(VirtqueueFeatures features) {
        if (features.packed()) {
            PackedRing.checkAreas(features.queueSize(), descriptors, driverArea, deviceArea);
        } else {
            SplitRing.checkAreas(features.queueSize(), descriptors, driverArea, deviceArea);
        }
    }

    static void check(String what, MemorySegment area, long minSize, int align, String section) {
        Objects.requireNonNull(area, what);
        if (!area.isNative()) {
            throw new IllegalArgumentException(what + " is not in native memory");
        }
        if (area.byteSize() < minSize) {
            throw new IllegalArgumentException("%s is %d bytes, the queue needs %d (VIRTIO 1.2 %s)"
                    .formatted(what, area.byteSize(), minSize, section));
        }
        if (area.address() % align != 0) {
            throw new IllegalArgumentException("%s at 0x%x is not %d-byte aligned (VIRTIO 1.2 %s)"
                    .formatted(what, area.address(), align, section));
        }
    }
}

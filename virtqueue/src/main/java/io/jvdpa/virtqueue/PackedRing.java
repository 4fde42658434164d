package io.jvdpa.virtqueue;

import java.lang.foreign.MemorySegment;

/** Layout of a packed virtqueue's event suppression structures (VIRTIO 1.2 §2.8.14) and the area checks. */
public final class PackedRing {
    /** struct pvirtq_event_suppress: desc (off:15, wrap:1) then flags. */
    public static final int EVENT_OFF_WRAP = 0;
    public static final int EVENT_FLAGS = 2;
    public static final int EVENT_SUPPRESSION_SIZE = 4;
    public static final int RING_EVENT_FLAGS_ENABLE = 0;
    public static final int RING_EVENT_FLAGS_DISABLE = 1;
    public static final int RING_EVENT_FLAGS_DESC = 2;
    public static final int EVENT_WRAP_BIT = 15;

    public static final int DESC_ALIGN = 16;
    public static final int EVENT_ALIGN = 4;

    private PackedRing() {}

    public static long descRingSize(int queueSize) {
        return (long) Desc.SIZE * queueSize;
    }

    /** Refuses areas that are too small or misaligned (VIRTIO 1.2 §2.8.10.1: ring 16, event structures 4). */
    static void checkAreas(int queueSize, MemorySegment ring, MemorySegment driverEvent, MemorySegment deviceEvent) {
        RingAreas.check("descriptor ring", ring, descRingSize(queueSize), DESC_ALIGN, "§2.8.10.1");
        RingAreas.check("driver event suppression", driverEvent, EVENT_SUPPRESSION_SIZE, EVENT_ALIGN, "§2.8.10.1");
        RingAreas.check("device event suppression", deviceEvent, EVENT_SUPPRESSION_SIZE, EVENT_ALIGN, "§2.8.10.1");
    }

    /** A descriptor the driver made available in the lap whose wrap counter is {@code wrap} (§2.8.1). */
    static boolean isAvail(int flags, boolean wrap) {
        boolean avail = (flags & Desc.F_AVAIL) != 0;
        boolean used = (flags & Desc.F_USED) != 0;
        return avail == wrap && used != wrap;
    }

    /** A descriptor the device marked used in the lap whose wrap counter is {@code wrap} (§2.8.1). */
    static boolean isUsed(int flags, boolean wrap) {
        boolean avail = (flags & Desc.F_AVAIL) != 0;
        boolean used = (flags & Desc.F_USED) != 0;
        return avail == wrap && used == wrap;
    }

    /** Flags that mark a descriptor available (driver) in the lap {@code wrap}. */
    static int availFlags(boolean wrap) {
        return wrap ? Desc.F_AVAIL : Desc.F_USED;
    }

    /** Flags that mark a descriptor used (device) in the lap {@code wrap}. */
    static int usedFlags(boolean wrap) {
        return wrap ? Desc.F_AVAIL | Desc.F_USED : 0;
    }
}

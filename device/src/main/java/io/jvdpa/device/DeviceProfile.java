package io.jvdpa.device;

import java.util.List;

/**
 * What a device instance agrees to serve, stated before any guest arrives. A guest set-up outside it is
 * refused during negotiation with a message that names the reason.
 *
 * @param legacy    which legacy drivers are served
 * @param packed    whether VIRTIO_F_RING_PACKED is offered
 * @param anyLayout whether VIRTIO_F_ANY_LAYOUT is offered to legacy drivers (off forces legacy framing)
 */
public record DeviceProfile(LegacyPolicy legacy, boolean packed, boolean anyLayout) {
    public static final DeviceProfile DEFAULT = new DeviceProfile(LegacyPolicy.AUTO, true, true);

    public DeviceProfile withLegacy(LegacyPolicy policy) {
        return new DeviceProfile(policy, packed, anyLayout);
    }

    public DeviceProfile withPacked(boolean on) {
        return new DeviceProfile(legacy, on, anyLayout);
    }

    public DeviceProfile withAnyLayout(boolean on) {
        return new DeviceProfile(legacy, packed, on);
    }

    /**
     * Whether CROSS_ENDIAN is offered. It is whenever legacy drivers are served at all: under {@code le-only} a
     * big-endian driver must reach SET_VRING_ENDIAN to be refused with this profile's reason, rather than fail
     * inside the front-end for want of the feature.
     */
    public boolean crossEndian() {
        return legacy != LegacyPolicy.OFF;
    }

    /** Whether ANY_LAYOUT is offered: it only means something to legacy drivers (VERSION_1 implies it). */
    public boolean anyLayoutOffered() {
        return anyLayout && legacy != LegacyPolicy.OFF;
    }

    /**
     * Whether VIRTIO_F_ORDER_PLATFORM is offered: never. jvdpa runs on the host's CPUs, so the driver's SMP
     * barriers order its accesses against the device's; the feature would make drivers use the stronger
     * barriers meant for hardware (Linux and DPDK do) and gain nothing.
     */
    public boolean orderPlatform() {
        return false;
    }

    /** The drivers served by kind and byte order; a modern driver is little-endian on every platform. */
    public List<String> byteOrders() {
        return switch (legacy) {
            case AUTO -> List.of("modern little-endian", "legacy little-endian", "legacy big-endian");
            case LE_ONLY -> List.of("modern little-endian", "legacy little-endian");
            case OFF -> List.of("modern little-endian");
        };
    }

    /** The profile in one line, for the device's start-up log: every item, with the device's queue count. */
    public String statement(int queues) {
        return "legacy %s (%s), packed %s, %d queues, any-layout %s, order-platform %s".formatted(legacy.flag(),
                String.join(", ", byteOrders()), onOff(packed), queues, onOff(anyLayoutOffered()),
                onOff(orderPlatform()));
    }

    private static String onOff(boolean on) {
        return on ? "on" : "off";
    }
}

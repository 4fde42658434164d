package io.jvdpa.device;

/**
 * What a device instance agrees to serve, stated before any guest arrives. A guest set-up outside it is
 * refused during negotiation with a message that names the reason.
 *
 * @param legacy         which legacy drivers are served
 * @param packed         whether VIRTIO_F_RING_PACKED is offered
 * @param anyLayout      whether VIRTIO_F_ANY_LAYOUT is offered to legacy drivers (off forces legacy framing)
 * @param orderPlatform  whether VIRTIO_F_ORDER_PLATFORM is offered
 */
public record DeviceProfile(LegacyPolicy legacy, boolean packed, boolean anyLayout, boolean orderPlatform) {
    public static final DeviceProfile DEFAULT = new DeviceProfile(LegacyPolicy.AUTO, true, true, false);

    public DeviceProfile withLegacy(LegacyPolicy policy) {
        return new DeviceProfile(policy, packed, anyLayout, orderPlatform);
    }

    public DeviceProfile withPacked(boolean on) {
        return new DeviceProfile(legacy, on, anyLayout, orderPlatform);
    }

    public DeviceProfile withAnyLayout(boolean on) {
        return new DeviceProfile(legacy, packed, on, orderPlatform);
    }

    /**
     * Whether CROSS_ENDIAN is offered. It is whenever legacy drivers are served at all: under {@code le-only} a
     * big-endian driver must reach SET_VRING_ENDIAN to be refused with this profile's reason, rather than fail
     * inside the front-end for want of the feature.
     */
    public boolean crossEndian() {
        return legacy != LegacyPolicy.OFF;
    }
}

package io.jvdpa.testing;

/**
 * A virtio device as the guest kernel sees it, from /sys/bus/virtio/devices/NAME.
 *
 * @param deviceId the virtio device ID (1 net, 2 block)
 * @param features the negotiated feature bits as the kernel prints them: character i is bit i
 * @param status   the device status byte (0x7 for a legacy driver, which has no FEATURES_OK; 0xf for modern)
 * @param driver   the bound driver ("virtio_net", "virtio_blk"), or empty when none bound
 */
public record GuestVirtioDevice(String name, int deviceId, String features, int status, String driver) {
    public static final int NET = 1;
    public static final int BLOCK = 2;
    /** VIRTIO_F_VERSION_1: set when the driver uses the modern interface. */
    public static final int VERSION_1 = 32;
    /** VIRTIO_F_RING_PACKED. */
    public static final int RING_PACKED = 34;

    public boolean hasFeature(int bit) {
        return bit < features.length() && features.charAt(bit) == '1';
    }

    /** Whether the driver negotiated the modern interface (VERSION_1); false for a legacy driver. */
    public boolean modern() {
        return hasFeature(VERSION_1);
    }

    /** DRIVER_OK (status bit 2) is set: the driver finished initialising the device. */
    public boolean driverOk() {
        return (status & 0x4) != 0;
    }

    /** Parses one line of {@code NAME DEVICE FEATURES STATUS DRIVER} as the guest prints it. */
    static GuestVirtioDevice parse(String line) {
        String[] f = line.trim().split("\\s+");
        if (f.length != 5) {
            throw new IllegalArgumentException("not a virtio device line: " + line);
        }
        return new GuestVirtioDevice(f[0], Integer.decode(f[1]), f[2], Integer.decode(f[3]),
                f[4].equals("-") ? "" : f[4]);
    }
}

package io.jvdpa.cli.probe;

import io.jvdpa.net.VirtioNetFeatures;
import java.util.Map;

/** What the probe knows of each device type: feature names, config space size and layout. */
final class DeviceTypes {
    /** virtio-blk feature bits (VIRTIO 1.2 5.2.3), legacy ones included. */
    static final Map<Integer, String> BLK_NAMES = Map.ofEntries(Map.entry(0, "BARRIER"), Map.entry(1, "SIZE_MAX"),
            Map.entry(2, "SEG_MAX"), Map.entry(4, "GEOMETRY"), Map.entry(5, "RO"), Map.entry(6, "BLK_SIZE"),
            Map.entry(7, "SCSI"), Map.entry(9, "FLUSH"), Map.entry(10, "TOPOLOGY"), Map.entry(11, "CONFIG_WCE"),
            Map.entry(12, "MQ"), Map.entry(13, "DISCARD"), Map.entry(14, "WRITE_ZEROES"), Map.entry(15, "LIFETIME"),
            Map.entry(16, "SECURE_ERASE"), Map.entry(17, "ZONED"));

    private DeviceTypes() {}

    static Map<Integer, String> featureNames(String type) {
        return switch (type) {
            case "net" -> VirtioNetFeatures.NAMES;
            case "blk" -> BLK_NAMES;
            default -> Map.of();
        };
    }

    /** How many config bytes to ask for: the fields every back-end of that type has (QEMU 7.2's layouts). */
    static int configSize(String type) {
        return switch (type) {
            case "net" -> 12;  // mac, status, max_virtqueue_pairs, mtu
            case "blk" -> 60;  // capacity .. write_zeroes_may_unmap and padding
            default -> 0;
        };
    }
}

package io.jvdpa.cli.probe;

import io.jvdpa.blk.VirtioBlk;
import io.jvdpa.net.VirtioNetFeatures;
import java.util.Map;

/** What the probe knows of each device type: feature names, config space size and layout. */
final class DeviceTypes {
    private DeviceTypes() {}

    static Map<Integer, String> featureNames(String type) {
        return switch (type) {
            case "net" -> VirtioNetFeatures.NAMES;
            case "blk" -> VirtioBlk.FEATURE_NAMES;
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

package io.jvdpa.cli.daemon;

import java.util.List;

/** The device factories of this build. */
final class StandardDevices {
    private StandardDevices() {}

    static List<DeviceFactory> factories() {
        return List.of(new CommandDeviceFactory("net", io.jvdpa.cli.NetCommand::new),
                new CommandDeviceFactory("blk", io.jvdpa.cli.BlkCommand::new));
    }
}

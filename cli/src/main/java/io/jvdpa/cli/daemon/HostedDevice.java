package io.jvdpa.cli.daemon;

import io.jvdpa.cli.DeviceRunner;
import io.jvdpa.device.VirtioDevice;
import java.nio.file.Path;
import java.util.List;

/**
 * A device the daemon runs: how it was asked for, and its runner (workers, framework back-end, socket).
 *
 * @param args the flags it was created with, as {@code jvdpa TYPE} takes them
 */
public record HostedDevice(String name, String type, List<String> args, Path socketPath, boolean client,
                           DeviceRunner runner, VirtioDevice device) implements AutoCloseable {
    public HostedDevice {
        args = List.copyOf(args);
    }

    /** Stops the device: the front-end is disconnected, the socket file it created removed, its resources freed. */
    @Override
    public void close() {
        runner.close();
        CommandDeviceFactory.closeDevice(device);
    }
}

package io.jvdpa.cli;

import io.jvdpa.device.VirtioDevice;

/**
 * A device command ({@code jvdpa net}, {@code jvdpa blk}) seen as a factory: its parsed flags build one device.
 * The daemon's config file and {@code jvdpa dev add} parse their flags with the same command class, so a device
 * is configured the same way wherever it runs.
 */
public interface DeviceCommand {
    /** The shared flags (socket, workers, profile), as parsed. */
    DeviceOptions deviceOptions();

    /**
     * Builds the device from the parsed flags. A device that holds resources (an image file, a TAP device)
     * implements {@link AutoCloseable}; whoever runs it closes it after its runner.
     *
     * @throws IllegalArgumentException when a flag's value is invalid (a usage error)
     * @throws StartException           when the device cannot be had (image missing, TAP refused)
     */
    VirtioDevice createDevice(String name);
}

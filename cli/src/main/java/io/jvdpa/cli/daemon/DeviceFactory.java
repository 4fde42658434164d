package io.jvdpa.cli.daemon;

import java.util.List;

/**
 * Builds and starts one device type from its command-line flags, exactly as {@code jvdpa net} or {@code jvdpa
 * blk} would: the daemon's config file, {@code jvdpa dev add} and the stand-alone commands share one parser.
 */
public interface DeviceFactory {
    /** "net", "blk". */
    String type();

    /** Whether {@code --flag} is an on/off switch without a value (so a config entry {@code flag: true} means it). */
    boolean isSwitch(String flag);

    /**
     * Parses {@code args} and starts the device named {@code name}.
     *
     * @throws picocli.CommandLine.ParameterException when a flag is unknown or its value invalid
     * @throws io.jvdpa.cli.StartException             when the device cannot start (socket in use, image missing...)
     */
    HostedDevice start(String name, List<String> args);
}

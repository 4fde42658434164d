package io.jvdpa.cli.daemon;

import io.jvdpa.cli.DeviceCommand;
import io.jvdpa.cli.DeviceOptions;
import io.jvdpa.cli.StartException;
import io.jvdpa.device.VirtioDevice;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The flags of the test device type, parsed as a real device command's are. */
@Command(name = "sink")
final class SinkCommand implements DeviceCommand {
    static final List<SinkDevice> CREATED = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Mixin
    DeviceOptions options;

    @Option(names = "--unavailable", description = "fail as a device whose resource is missing")
    boolean unavailable;

    @Option(names = "--depth", defaultValue = "1")
    int depth;

    @Option(names = "--tag")
    List<String> tags;

    @Override
    public DeviceOptions deviceOptions() {
        return options;
    }

    @Override
    public VirtioDevice createDevice(String name) {
        if (depth < 1) {
            throw new IllegalArgumentException("--depth " + depth + " is below 1");
        }
        if (unavailable) {
            throw new StartException(name + ": the sink is unavailable");
        }
        SinkDevice d = new SinkDevice();
        CREATED.add(d);
        return d;
    }

    static DeviceTypes types() {
        return new DeviceTypes(List.of(new CommandDeviceFactory("sink", SinkCommand::new)));
    }
}

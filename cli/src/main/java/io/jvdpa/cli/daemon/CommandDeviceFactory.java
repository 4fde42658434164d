package io.jvdpa.cli.daemon;

import io.jvdpa.cli.DeviceCommand;
import io.jvdpa.cli.DeviceOptions;
import io.jvdpa.cli.DeviceRunner;
import io.jvdpa.cli.StartException;
import io.jvdpa.device.VirtioDevice;
import java.util.List;
import java.util.function.Supplier;
import picocli.CommandLine;

/** Builds devices by parsing their flags with the stand-alone command's own class ({@code jvdpa TYPE}). */
public final class CommandDeviceFactory implements DeviceFactory {
    private final String type;
    private final Supplier<? extends DeviceCommand> newCommand;

    public CommandDeviceFactory(String type, Supplier<? extends DeviceCommand> newCommand) {
        this.type = type;
        this.newCommand = newCommand;
    }

    @Override
    public String type() {
        return type;
    }

    @Override
    public boolean isSwitch(String flag) {
        CommandLine.Model.OptionSpec o = new CommandLine(newCommand.get()).getCommandSpec().findOption(flag);
        return o != null && o.arity().max() == 0;
    }

    @Override
    public HostedDevice start(String name, List<String> args) {
        DeviceCommand command = newCommand.get();
        CommandLine cl = new CommandLine(command);
        cl.setCommandName(type);
        cl.parseArgs(args.toArray(String[]::new));
        if (cl.isUsageHelpRequested() || cl.isVersionHelpRequested()) {
            throw new CommandLine.ParameterException(cl, "--help and --version do not make a device");
        }
        DeviceOptions options = command.deviceOptions();
        options.validate();
        VirtioDevice device = command.createDevice(name);
        try {
            DeviceRunner runner = new DeviceRunner(name, device, options);
            return new HostedDevice(name, type, args, options.socketPath(), options.client(), runner, device);
        } catch (RuntimeException e) {
            closeDevice(device);
            throw e instanceof StartException ? e : new StartException(e.getMessage(), e);
        }
    }

    static void closeDevice(VirtioDevice device) {
        if (device instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                // the device is gone either way; its own close logs what it could not release
            }
        }
    }
}

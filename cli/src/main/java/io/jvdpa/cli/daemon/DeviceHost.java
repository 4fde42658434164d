package io.jvdpa.cli.daemon;

import io.jvdpa.cli.StartException;
import io.jvdpa.cli.control.ControlException;
import io.jvdpa.cli.control.ErrorKind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/** The devices one daemon runs, by name: added from the config file or {@code dev add}, removed by {@code dev del}. */
public final class DeviceHost implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceHost.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");

    private final DeviceTypes types;
    private final Map<String, HostedDevice> devices = new LinkedHashMap<>();
    private boolean closed;

    public DeviceHost(DeviceTypes types) {
        this.types = types;
    }

    public DeviceTypes types() {
        return types;
    }

    /**
     * Starts a device.
     *
     * @throws ControlException USAGE for a bad name, type or flag; EXISTS for a name in use; START when it cannot start
     */
    public synchronized HostedDevice add(String name, String type, List<String> args) {
        if (closed) {
            throw new ControlException(ErrorKind.STOPPING, "the daemon is stopping");
        }
        if (name == null || !NAME.matcher(name).matches()) {
            throw new ControlException(ErrorKind.USAGE, "device name '" + name + "' is not 1-32 letters, digits, '.', "
                    + "'_' or '-' starting with a letter or digit");
        }
        if (devices.containsKey(name)) {
            throw new ControlException(ErrorKind.EXISTS, "a device named '" + name + "' already exists");
        }
        DeviceFactory factory = types.get(type).orElseThrow(() -> new ControlException(ErrorKind.USAGE,
                "unknown device type '" + type + "' (one of " + String.join(", ", types.names()) + ")"));
        HostedDevice device;
        try {
            device = factory.start(name, args);
        } catch (CommandLine.ParameterException e) {
            throw new ControlException(ErrorKind.USAGE, name + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new ControlException(ErrorKind.USAGE, name + ": " + e.getMessage(), e);
        } catch (StartException e) {
            throw new ControlException(ErrorKind.START, name + ": " + e.getMessage(), e);
        }
        devices.put(name, device);
        LOG.info("{}: {} device added on {}", name, type, device.socketPath());
        return device;
    }

    /** Stops and forgets a device; its socket file is removed. */
    public synchronized void remove(String name) {
        HostedDevice d = get(name);
        devices.remove(name);
        d.close();
        LOG.info("{}: device removed", name);
    }

    /** @throws ControlException NOT_FOUND when there is no such device */
    public synchronized HostedDevice get(String name) {
        HostedDevice d = devices.get(name);
        if (d == null) {
            throw new ControlException(ErrorKind.NOT_FOUND, "no device named '" + name + "'"
                    + (devices.isEmpty() ? " (the daemon hosts none)" : " (devices: " + String.join(", ", devices.keySet()) + ")"));
        }
        return d;
    }

    public synchronized List<HostedDevice> list() {
        return new ArrayList<>(devices.values());
    }

    /** Stops every device, newest first. */
    @Override
    public synchronized void close() {
        closed = true;
        List<HostedDevice> all = new ArrayList<>(devices.values());
        for (int i = all.size() - 1; i >= 0; i--) {
            try {
                all.get(i).close();
            } catch (RuntimeException e) {
                LOG.warn("{}: stopping failed: {}", all.get(i).name(), e.toString());
            }
        }
        devices.clear();
    }
}

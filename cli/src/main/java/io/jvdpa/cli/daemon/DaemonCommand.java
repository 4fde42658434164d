package io.jvdpa.cli.daemon;

import io.jvdpa.cli.Main;
import io.jvdpa.cli.StartException;
import io.jvdpa.cli.control.ControlException;
import io.jvdpa.cli.control.ControlServer;
import io.jvdpa.cli.control.ControlSocketPath;
import io.jvdpa.cli.control.ErrorKind;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jvdpa daemon --config FILE}: hosts the config file's devices in one process and takes
 * {@code jvdpa dev ...} requests on a control socket until SIGTERM or SIGINT.
 */
@Command(name = "daemon", mixinStandardHelpOptions = true,
        description = {"Hosts several devices (net and blk, one vhost-user socket each) in one process, managed with "
                + "`jvdpa dev ...` through a control socket.",
            "The config file (YAML) lists the devices with the flags of `jvdpa net` / `jvdpa blk`; see "
                + "examples/jvdpa.yaml. SIGTERM or SIGINT: stop taking requests, finish those in flight, close the "
                + "devices and remove every socket file the daemon created, then exit 0."})
public final class DaemonCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(DaemonCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "the devices to host (YAML)")
    Path config;

    @Option(names = "--control-socket", paramLabel = "PATH",
            description = "control socket (default: the config's control-socket, else $XDG_RUNTIME_DIR/jvdpa/"
                    + "control.sock, else /run/jvdpa/control.sock)")
    Path controlSocket;

    private final DeviceTypes types;

    public DaemonCommand() {
        this(DeviceTypes.standard());
    }

    DaemonCommand(DeviceTypes types) {
        this.types = types;
    }

    @Override
    public Integer call() {
        DaemonConfig cfg;
        try {
            cfg = DaemonConfig.load(config, types);
        } catch (DaemonConfig.ConfigException e) {
            return usageError(e.getMessage());
        }
        Path control = controlSocket != null ? controlSocket
                : cfg.controlSocket() != null ? cfg.controlSocket() : ControlSocketPath.defaultPath();
        DeviceHost host = new DeviceHost(types);
        ControlServer server;
        try {
            for (DaemonConfig.Entry e : cfg.devices()) {
                host.add(e.name(), e.type(), e.args());
            }
            server = ControlServer.start(control, new DaemonService(host));
        } catch (ControlException e) {
            host.close();
            if (e.kind() == ErrorKind.USAGE) {
                return usageError(config + ": " + e.getMessage());
            }
            throw new StartException(e.getMessage(), e);
        } catch (IOException | RuntimeException e) {
            host.close();
            throw new StartException("cannot open the control socket " + control + ": " + reason(e), e);
        }
        LOG.info("jvdpa daemon: {} devices, control socket {}", host.list().size(), server.path());
        StopOnSignal.awaitThen(() -> {
            LOG.info("jvdpa daemon: stopping");
            server.close(Duration.ofSeconds(20));
            host.close();
            LOG.info("jvdpa daemon: stopped");
        });
        return 0; // not reached: the stop handler ends the process
    }

    /** File system exceptions carry only the path as their message; say what happened to it. */
    private static String reason(Exception e) {
        return switch (e) {
            case java.nio.file.AccessDeniedException a -> "permission denied: " + a.getFile();
            case java.nio.file.FileAlreadyExistsException f -> f.getFile() + " exists and is not a directory"
                    + (f.getReason() != null ? " (" + f.getReason() + ")" : "");
            case java.nio.file.FileSystemException f -> f.getFile() + ": " + (f.getReason() != null ? f.getReason()
                    : f.getClass().getSimpleName());
            default -> e.getMessage();
        };
    }

    /** A config file that cannot be used: its problem is the message, the command's usage would only hide it. */
    private int usageError(String message) {
        spec.commandLine().getErr().println("jvdpa: " + message);
        return Main.EXIT_USAGE;
    }
}

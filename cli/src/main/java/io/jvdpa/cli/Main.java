package io.jvdpa.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code jvdpa} command. Exit codes: 0 done; 1 failed while running, also when a thread of the process dies
 * (it stops in order, so a supervisor restarts it: {@link FatalFailure}); 2 usage error; 3 could not start.
 */
@Command(name = "jvdpa", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Userspace vDPA for the JVM: transitional virtio devices (modern and legacy, little- and "
                + "big-endian guests) served over vhost-user.",
        subcommands = {io.jvdpa.cli.daemon.DaemonCommand.class, io.jvdpa.cli.dev.DevCommand.class,
            io.jvdpa.cli.probe.ProbeCommand.class, NetCommand.class, BlkCommand.class})
public final class Main implements Runnable {
    public static final int EXIT_RUNTIME = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_START = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--log-level", scope = CommandLine.ScopeType.INHERIT, paramLabel = "LEVEL",
            description = "error, warn, info (default), debug or trace")
    void logLevel(String level) {
        Level parsed = Level.toLevel(level, null);
        if (parsed == null) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--log-level '" + level + "' is not one of error, warn, info, debug, trace");
        }
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(parsed);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (see --help)");
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof StartException s) {
                commandLine.getErr().println("jvdpa: " + s.getMessage());
                return EXIT_START;
            }
            commandLine.getErr().println("jvdpa: " + e);
            LoggerFactory.getLogger(Main.class).error("failed", e);
            return EXIT_RUNTIME;
        });
        return cl;
    }

    public static void main(String[] args) {
        FatalFailure.install();
        System.exit(commandLine().execute(args));
    }
}

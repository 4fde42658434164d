package io.jvdpa.cli.dev;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvdpa.cli.control.ControlClient;
import io.jvdpa.cli.control.ControlException;
import io.jvdpa.cli.control.ControlRequest;
import io.jvdpa.cli.control.ControlResponse;
import io.jvdpa.cli.control.DeviceConfigInfo;
import io.jvdpa.cli.control.DeviceInfo;
import io.jvdpa.cli.control.DeviceStats;
import io.jvdpa.cli.control.Json;
import io.jvdpa.cli.control.ProfileInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code jvdpa dev ...}: manages the devices of a running daemon through its control socket, in the manner of
 * iproute2's {@code vdpa dev}. Exit status: 0 done, 1 failed (no daemon, no such device), 2 bad flags (the
 * device's too), 3 the device could not start.
 */
@Command(name = "dev", mixinStandardHelpOptions = true,
        description = "Lists, shows, adds and removes the devices of a running `jvdpa daemon`.",
        subcommands = {DevCommand.ListDevices.class, DevCommand.Show.class, DevCommand.Add.class, DevCommand.Del.class,
            DevCommand.Config.class, DevCommand.Stats.class})
public final class DevCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "a dev command is required: list, show, add, del, config show or stats");
    }

    /** Sends the request; prints the result as JSON or with {@code human}; returns the exit status. */
    static int exchange(CommandLine.Model.CommandSpec spec, ControlOptions options, ControlRequest request,
                        Renderer human) {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ControlResponse response;
        try {
            response = ControlClient.send(options.socket(), request);
        } catch (ControlException e) {
            response = ControlResponse.failure(e.kind(), e.getMessage());
        }
        if (!response.ok()) {
            // The message for people on stderr; with --json the same failure for scripts on stdout.
            err.println("jvdpa: " + response.error());
            if (options.json) {
                try {
                    out.println(Json.PRETTY.writeValueAsString(response));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                out.flush();
            }
            return response.kind() != null ? response.kind().exitCode() : 1;
        }
        try {
            if (options.json) {
                out.println(Json.PRETTY.writeValueAsString(response.result()));
            } else {
                out.print(human.render(response.result()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.flush();
        return 0;
    }

    /** The human form of a result. */
    @FunctionalInterface
    interface Renderer {
        String render(JsonNode result) throws IOException;
    }

    private static String yesNo(boolean b) {
        return b ? "yes" : "no";
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the devices.")
    static final class ListDevices implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Mixin
        ControlOptions options;

        @Override
        public Integer call() {
            return exchange(spec, options, ControlRequest.of("list", null), result -> {
                Table t = new Table("NAME", "TYPE", "SOCKET", "MODE", "CONNECTED", "DRIVER", "QUEUES");
                for (JsonNode n : result) {
                    DeviceInfo d = Json.WIRE.treeToValue(n, DeviceInfo.class);
                    t.row(d.name(), d.type(), d.socketPath(), d.mode(), yesNo(d.connected()), d.driver(),
                            d.queuesStarted() + "/" + d.profile().queues());
                }
                return t.toString();
            });
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Shows one device.")
    static final class Show implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Mixin
        ControlOptions options;
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            return exchange(spec, options, ControlRequest.of("show", name),
                    result -> show(Json.WIRE.treeToValue(result, DeviceInfo.class)));
        }
    }

    static String show(DeviceInfo d) {
        ProfileInfo p = d.profile();
        Table t = new Table("FIELD", "VALUE");
        t.row("name", d.name()).row("type", d.type()).row("socket", d.socketPath()).row("mode", d.mode())
                .row("connected", yesNo(d.connected())).row("connections", d.connections()).row("driver", d.driver())
                .row("status", d.status().isEmpty() ? "-" : String.join(" ", d.status()))
                .row("queues", d.queuesStarted() + " started of " + p.queues())
                .row("legacy", p.legacy()).row("byte orders", String.join(", ", p.byteOrders()))
                .row("packed", onOff(p.packed())).row("any-layout", onOff(p.anyLayout()))
                .row("order-platform", onOff(p.orderPlatform()))
                .row("refusals", refusals(d.refusals(), d.lastRefusal()))
                .row("flags", String.join(" ", d.args()));
        return t.toString();
    }

    private static String onOff(boolean on) {
        return on ? "on" : "off";
    }

    private static String refusals(long count, String last) {
        return count + (last != null ? " (last: " + last + ")" : "");
    }

    @Command(name = "add", mixinStandardHelpOptions = true, modelTransformer = Add.DeviceFlagsArePositional.class,
            description = {"Adds a device: FLAGS are those of `jvdpa net` or `jvdpa blk`.",
                "Example: jvdpa dev add net1 net --socket-path /run/jvdpa/net1.sock --network gateway"})
    static final class Add implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Mixin
        ControlOptions options;
        @Parameters(index = "0", paramLabel = "NAME")
        String name;
        @Parameters(index = "1", paramLabel = "TYPE", description = "net or blk")
        String type;
        @Parameters(index = "2..*", paramLabel = "FLAGS", description = "the device's flags")
        List<String> flags = new ArrayList<>();

        /** The device's flags are not dev add's own: they go to the device type's parser in the daemon. */
        static final class DeviceFlagsArePositional implements CommandLine.IModelTransformer {
            @Override
            public CommandLine.Model.CommandSpec transform(CommandLine.Model.CommandSpec spec) {
                spec.parser().unmatchedOptionsArePositionalParams(true);
                return spec;
            }
        }

        @Override
        public Integer call() {
            return exchange(spec, options, new ControlRequest("add", name, type, flags),
                    result -> show(Json.WIRE.treeToValue(result, DeviceInfo.class)));
        }
    }

    @Command(name = "del", mixinStandardHelpOptions = true,
            description = "Removes a device: its front-end is disconnected and its socket file removed.")
    static final class Del implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Mixin
        ControlOptions options;
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            return exchange(spec, options, ControlRequest.of("del", name), result -> "");
        }
    }

    @Command(name = "config", mixinStandardHelpOptions = true, description = "Device configuration.",
            subcommands = Config.ConfigShow.class)
    static final class Config implements Runnable {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(), "usage: jvdpa dev config show NAME");
        }

        @Command(name = "show", mixinStandardHelpOptions = true,
                description = "Negotiated features by name, driver kind and its evidence, byte order and size per ring.")
        static final class ConfigShow implements Callable<Integer> {
            @CommandLine.Spec
            CommandLine.Model.CommandSpec spec;
            @Mixin
            ControlOptions options;
            @Parameters(index = "0", paramLabel = "NAME")
            String name;

            @Override
            public Integer call() {
                return exchange(spec, options, ControlRequest.of("config", name), result -> {
                    DeviceConfigInfo c = Json.WIRE.treeToValue(result, DeviceConfigInfo.class);
                    StringBuilder s = new StringBuilder();
                    Table t = new Table("FIELD", "VALUE");
                    t.row("name", c.name()).row("type", c.type()).row("driver", c.driver())
                            .row("byte order", c.deviceOrder()).row("features", c.ackedFeatures())
                            .row("negotiated", c.negotiatedFeatures().isEmpty() ? "-" : String.join(" ", c.negotiatedFeatures()))
                            .row("offered", String.join(" ", c.offeredFeatures()))
                            .row("protocol", c.protocolFeatures().isEmpty() ? "-" : String.join(" ", c.protocolFeatures()));
                    for (String e : c.evidence()) {
                        t.row("evidence", e);
                    }
                    s.append(t).append('\n');
                    Table q = new Table("QUEUE", "SIZE", "STARTED", "ENABLED", "ORDER");
                    for (DeviceConfigInfo.Ring r : c.queues()) {
                        q.row(r.index(), r.size(), yesNo(r.started()), yesNo(r.enabled()), r.order());
                    }
                    return s.append(q).toString();
                });
            }
        }
    }

    @Command(name = "stats", mixinStandardHelpOptions = true,
            description = {"Per-queue counters: kicks, calls, chains, bytes, errors, broken; and the device's refusals.",
                "Kicks, calls and refusals count from the device's creation; chains, bytes and errors from the ring's last"
                    + " start."})
    static final class Stats implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;
        @Mixin
        ControlOptions options;
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            return exchange(spec, options, ControlRequest.of("stats", name), result -> {
                DeviceStats st = Json.WIRE.treeToValue(result, DeviceStats.class);
                Table t = new Table("QUEUE", "STARTED", "KICKS", "CALLS", "CHAINS", "READ", "USED", "WRITTEN", "ERRORS",
                        "BROKEN");
                StringBuilder reasons = new StringBuilder();
                for (DeviceStats.QueueStats q : st.queues()) {
                    t.row(q.index(), yesNo(q.started()), q.kicks(), q.calls(), q.chains(), q.readBytes(), q.usedChains(),
                            q.writtenBytes(), q.errors(), yesNo(q.broken()));
                    if (q.brokenReason() != null) {
                        reasons.append("queue ").append(q.index()).append(" broken: ").append(q.brokenReason()).append('\n');
                    }
                }
                return t + reasons.toString() + "refusals: " + refusals(st.refusals(), st.lastRefusal()) + "\n";
            });
        }
    }
}

package io.jvdpa.cli.probe;

import io.jvdpa.cli.Main;
import io.jvdpa.cli.control.Json;
import io.jvdpa.cli.dev.Table;
import io.jvdpa.vhostuser.VhostUserException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code jvdpa probe}: what a vhost-user back-end (jvdpa's, DPDK's, qemu-storage-daemon's...) serves. */
@Command(name = "probe", mixinStandardHelpOptions = true,
        description = {"Connects to a vhost-user back-end as a front-end and reports its device type, features and "
                + "protocol features by name, queue count, config space, and a verdict per driver kind (modern LE, "
                + "legacy LE, legacy BE, packed).",
            "Without --traffic the verdicts are read from the offered bits; with it each is proven by a short "
                + "request through the rings on a connection of its own, except a 'no' the offered bits already "
                + "decide: trying it would ack bits the back-end did not offer, or drive rings in a byte order it "
                + "was never told, as a hostile front-end would."})
public final class ProbeCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--socket-path", required = true, paramLabel = "PATH", description = "the back-end's socket")
    Path socketPath;

    @Option(names = "--json", description = "print JSON instead of tables")
    boolean json;

    @Option(names = "--traffic", description = "prove each verdict with a request through the rings; a 'no' the offered bits decide is "
            + "not tried, since that would drive the back-end with bits or a byte order it did not offer")
    boolean traffic;

    @Option(names = "--type", paramLabel = "net|blk", description = "the device type, when the offered bits cannot tell")
    String type;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "5",
            description = "how long to wait for the back-end at each step (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Override
    public Integer call() throws IOException {
        if (type != null && !type.equals("net") && !type.equals("blk")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--type takes net or blk, not '" + type + "'");
        }
        if (timeoutSeconds < 1 || timeoutSeconds > 600) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--timeout " + timeoutSeconds
                    + " is outside 1..600 seconds");
        }
        ProbeReport report;
        try {
            report = new Prober(socketPath, type, Duration.ofSeconds(timeoutSeconds)).probe(traffic);
        } catch (IOException | VhostUserException e) {
            String message = "probing " + socketPath + " failed: " + e.getMessage();
            spec.commandLine().getErr().println("jvdpa: " + message);
            if (json) {
                spec.commandLine().getOut().println(Json.PRETTY.writeValueAsString(Map.of("ok", false, "error", message)));
                spec.commandLine().getOut().flush();
            }
            return Main.EXIT_RUNTIME;
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? Json.PRETTY.writeValueAsString(report) + "\n" : render(report));
        out.flush();
        return 0;
    }

    static String render(ProbeReport r) {
        Table t = new Table("FIELD", "VALUE");
        t.row("socket", r.socketPath())
                .row("device type", r.deviceType() + " (" + r.typeEvidence() + ")")
                .row("features", r.featureBits() + " " + String.join(" ", r.features()))
                .row("protocol features", r.protocolFeatureBits() + " " + String.join(" ", r.protocolFeatures()))
                .row("queues", r.queues() == null ? "- (no MQ)" : r.queues());
        StringBuilder config = new StringBuilder();
        for (Map.Entry<String, Object> e : r.config().entrySet()) {
            config.append(config.isEmpty() ? "" : " ").append(e.getKey()).append('=').append(e.getValue());
        }
        t.row("config", config.isEmpty() ? "- (no CONFIG)" : config);
        Table v = new Table("DRIVER", "VERDICT", "PROOF", "REASON");
        for (Verdict d : r.verdicts()) {
            v.row(d.driver(), d.supported(), d.proof(), d.reason());
        }
        return t + "\n" + v;
    }
}

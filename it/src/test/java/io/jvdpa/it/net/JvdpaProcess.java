package io.jvdpa.it.net;

import io.jvdpa.testing.HarnessException;
import io.jvdpa.testing.ManagedProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The jvdpa command in a process of its own: the CLI's main class on this build's class path, with the flags the
 * {@code ./jvdpa} launcher gives the JVM (the launcher only adds "build first if sources changed").
 */
final class JvdpaProcess implements AutoCloseable {
    private static final Pattern SUMMARY = Pattern.compile("jvdpa net: (.*)");
    private static final Pattern COUNTER = Pattern.compile("([a-z0-9-]+)=(\\d+)");

    private final ManagedProcess process;

    private JvdpaProcess(ManagedProcess process) {
        this.process = process;
    }

    /** Starts {@code jvdpa ARGS}; the caller waits for whatever says it is ready. */
    static JvdpaProcess start(String name, String... args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseZGC", "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), "io.jvdpa.cli.Main"));
        command.addAll(List.of(args));
        return new JvdpaProcess(ManagedProcess.builder(name).command(command).maxLifetime(Duration.ofMinutes(10))
                .start());
    }

    /** {@code jvdpa net --socket-path SOCKET FLAGS}, listening once the socket exists. */
    static JvdpaProcess net(String name, Path socket, String... flags) {
        List<String> args = new ArrayList<>(List.of("net", "--socket-path", socket.toString()));
        args.addAll(List.of(flags));
        JvdpaProcess p = start(name, args.toArray(String[]::new));
        try {
            p.process.awaitPath(socket, Duration.ofSeconds(60));
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        return p;
    }

    ManagedProcess process() {
        return process;
    }

    /** Everything the process logged so far. */
    String log() {
        return process.stderr().text();
    }

    /** SIGTERM, then the counters {@code jvdpa net} prints when it stops ("tx-frames" to its value...). */
    Map<String, Long> stop() {
        process.signal("TERM");
        int status = process.waitFor(Duration.ofSeconds(30));
        String out = process.stdout().text();
        Matcher m = SUMMARY.matcher(out);
        if (!m.find()) {
            throw new HarnessException("jvdpa exited with status " + status + " without its counters; "
                    + process.describe());
        }
        Map<String, Long> counters = new HashMap<>();
        Matcher c = COUNTER.matcher(m.group(1));
        while (c.find()) {
            counters.put(c.group(1), Long.parseLong(c.group(2)));
        }
        return counters;
    }

    @Override
    public void close() {
        process.close();
    }
}

package io.jvdpa.it.manage;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.testing.ManagedProcess;
import io.jvdpa.testing.RepoRoot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jvdpa daemon} and {@code jvdpa dev} as a user meets them: the control socket where the environment puts
 * it, private to its user, gone after SIGTERM or SIGINT with exit status 0; bad invocations end with status 2
 * and a message naming what was wrong, start failures with 3.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class DaemonLifecycleIT {
    @TempDir
    Path dir;

    @BeforeAll
    static void build() {
        Jvdpa.build();
    }

    private Path config(String yaml) throws Exception {
        Path file = dir.resolve("jvdpa-" + System.nanoTime() + ".yaml");
        Files.writeString(file, yaml);
        return file;
    }

    @Test
    void controlSocketUnderXdgRuntimeDirGoneAfterSigterm() throws Exception {
        Path runtime = Files.createDirectories(dir.resolve("xdg"));
        Map<String, String> env = Map.of("XDG_RUNTIME_DIR", runtime.toString());
        Path control = runtime.resolve("jvdpa/control.sock");
        try (ManagedProcess daemon = Jvdpa.start("daemon-xdg", env, "daemon", "--config",
                config("devices: []\n").toString())) {
            Jvdpa.awaitReady(daemon);
            assertThat(Files.getPosixFilePermissions(control)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
            assertThat(Files.getPosixFilePermissions(control.getParent()))
                    .isEqualTo(PosixFilePermissions.fromString("rwx------"));

            Jvdpa.Result list = Jvdpa.run(env, "dev", "list").ok();
            assertThat(list.out().strip()).isEqualTo("NAME  TYPE  SOCKET  MODE  CONNECTED  DRIVER  QUEUES");
            assertThat(Jvdpa.run(env, "dev", "list", "--json").ok().out().strip()).isEqualTo("[ ]");

            daemon.signal("TERM");
            assertThat(daemon.waitFor(Duration.ofSeconds(30))).as(daemon.describe()).isZero();
            assertThat(control).doesNotExist();
            assertThat(daemon.stderr().text()).contains("control socket " + control, "jvdpa daemon: stopped");
        }
        Jvdpa.Result gone = Jvdpa.run(env, "dev", "list");
        assertThat(gone.status()).isEqualTo(1);
        assertThat(gone.err()).contains("no jvdpa daemon at " + control);
    }

    @Test
    void sigintStopsTooAndLogLevelIsHonoured() throws Exception {
        Path control = dir.resolve("ctl/control.sock");
        try (ManagedProcess daemon = Jvdpa.start("daemon-sigint", Map.of(), "--log-level", "debug", "daemon",
                "--config", config("control-socket: " + control + "\ndevices: []\n").toString())) {
            Jvdpa.awaitReady(daemon);
            Jvdpa.run("dev", "list", "--control-socket", control.toString()).ok();
            daemon.signal("INT");
            assertThat(daemon.waitFor(Duration.ofSeconds(30))).as(daemon.describe()).isZero();
            assertThat(control).doesNotExist();
            assertThat(daemon.stderr().text()).containsPattern(Pattern.compile("DEBUG .*", Pattern.MULTILINE));
        }
        try (ManagedProcess quiet = Jvdpa.start("daemon-quiet", Map.of(), "--log-level=warn", "daemon",
                "--config", config("control-socket: " + control + "\ndevices: []\n").toString())) {
            quiet.awaitPath(control, Duration.ofSeconds(60));
            Thread.sleep(500);
            quiet.signal("TERM");
            assertThat(quiet.waitFor(Duration.ofSeconds(30))).isZero();
            assertThat(quiet.stderr().text()).doesNotContain("INFO").doesNotContain("DEBUG");
        }
    }

    @Test
    void aSecondDaemonOnTheSameControlSocketCannotStart() throws Exception {
        Path control = dir.resolve("control.sock");
        Path cfg = config("devices: []\n");
        try (ManagedProcess first = Jvdpa.start("daemon-first", Map.of(), "daemon", "--config", cfg.toString(),
                "--control-socket", control.toString())) {
            Jvdpa.awaitReady(first);
            Jvdpa.Result second = Jvdpa.run("daemon", "--config", cfg.toString(), "--control-socket", control.toString());
            assertThat(second.status()).isEqualTo(3);
            assertThat(second.err()).contains("cannot open the control socket " + control, "a server is listening there");
            assertThat(Jvdpa.run("dev", "list", "--control-socket", control.toString()).status()).isZero();
        }
        Path file = Files.writeString(dir.resolve("a-file"), "");
        Jvdpa.Result noDirectory = Jvdpa.run("daemon", "--config", cfg.toString(), "--control-socket",
                file.resolve("control.sock").toString());
        assertThat(noDirectory.status()).isEqualTo(3);
        assertThat(noDirectory.err()).contains("cannot open the control socket " + file.resolve("control.sock"),
                file + " exists and is not a directory");
    }

    @Test
    void badDaemonInvocationsAreUsageErrors() throws Exception {
        expectUsage(List.of("daemon"), "Missing required option: '--config=FILE'");
        expectUsage(List.of("daemon", "--config", dir.resolve("none.yaml").toString()), "does not exist");
        expectUsage(List.of("daemon", "--config", config("devices:\n  - name: a\n   type: net\n").toString()),
                "not valid YAML");
        expectUsage(List.of("daemon", "--config", config("devicez: []\n").toString()), "unknown top-level key 'devicez'");
        expectUsage(List.of("daemon", "--config", config("devices:\n  - {name: a, type: tape}\n").toString()),
                "unknown device type 'tape'");
        expectUsage(List.of("daemon", "--config", config("devices:\n  - {type: net}\n").toString()),
                "device 1: 'name' is missing");
        expectUsage(List.of("daemon", "--config", config("devices:\n  - {name: n, type: net, socket-path: "
                + dir.resolve("n.sock") + ", queue-pairs: 9}\n").toString()), "n: --queue-pairs 9 is outside 1..8");
        expectUsage(List.of("daemon", "--config", config("devices:\n  - {name: n, type: net, socket-path: "
                + dir.resolve("n.sock") + ", colour: blue}\n").toString()), "n: Unknown option: '--colour=blue'");
        expectUsage(List.of("daemon", "--config", "x", "--confg", "y"), "Unknown options: '--confg', 'y'");
        expectUsage(List.of("--log-level", "loud", "daemon", "--config", "x"),
                "--log-level 'loud' is not one of error, warn, info, debug, trace");
        expectUsage(List.of(), "a command is required");
        expectUsage(List.of("frobnicate"), "Unmatched argument at index 0: 'frobnicate'");
        checkUsageErrors();
    }

    @Test
    void aDeviceThatCannotStartStopsTheDaemonWithStatus3() throws Exception {
        Path n = dir.resolve("n.sock");
        Jvdpa.Result r = Jvdpa.run("daemon", "--control-socket", dir.resolve("c.sock").toString(), "--config",
                config("devices:\n  - {name: n, type: net, socket-path: " + n + "}\n"
                        + "  - {name: d, type: blk, socket-path: " + dir.resolve("d.sock") + ", image: "
                        + dir.resolve("missing.img") + "}\n").toString());
        assertThat(r.status()).as(r.err()).isEqualTo(3);
        assertThat(r.err()).contains("jvdpa: d: ", "missing.img");
        // The device that had started is closed again, its socket removed.
        assertThat(n).doesNotExist();
        assertThat(dir.resolve("c.sock")).doesNotExist();
    }

    @Test
    void badDevInvocationsAreUsageErrors() throws Exception {
        String control = dir.resolve("none.sock").toString();
        expectUsage(List.of("dev"), "a dev command is required");
        expectUsage(List.of("dev", "show", "--control-socket", control), "Missing required parameter: 'NAME'");
        expectUsage(List.of("dev", "stats", "--control-socket", control), "Missing required parameter: 'NAME'");
        expectUsage(List.of("dev", "del", "--control-socket", control), "Missing required parameter: 'NAME'");
        expectUsage(List.of("dev", "config", "--control-socket", control), "Unknown options: '--control-socket'");
        expectUsage(List.of("dev", "config"), "usage: jvdpa dev config show NAME");
        expectUsage(List.of("dev", "config", "show"), "Missing required parameter: 'NAME'");
        expectUsage(List.of("dev", "add", "x"), "Missing required parameter: 'TYPE'");
        expectUsage(List.of("dev", "list", "--jsn"), "Unknown option: '--jsn'");
        expectUsage(List.of("dev", "remove", "x"), "Unmatched arguments from index 1: 'remove', 'x'");
        checkUsageErrors();
        // Well-formed, but nobody listens: a runtime failure, not a usage error.
        Jvdpa.Result noDaemon = Jvdpa.run("dev", "show", "x", "--control-socket", control);
        assertThat(noDaemon.status()).isEqualTo(1);
        assertThat(noDaemon.err()).contains("no jvdpa daemon at " + control);
    }

    private final List<java.util.concurrent.Callable<Void>> usageCases = new ArrayList<>();

    /** Queues a check that {@code jvdpa ARGS} ends with status 2 and {@code message}; {@link #checkUsageErrors} runs them. */
    private void expectUsage(List<String> args, String message) {
        usageCases.add(() -> {
            Jvdpa.Result r = Jvdpa.run(args.toArray(String[]::new));
            assertThat(r.status()).as("exit status of jvdpa %s; stderr:\n%s", args, r.err()).isEqualTo(2);
            assertThat(r.err()).as("jvdpa %s", args).contains(message);
            return null;
        });
    }

    /** Runs the queued checks a few at a time: each is a JVM start. */
    private void checkUsageErrors() throws Exception {
        var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            for (var done : pool.invokeAll(usageCases)) {
                try {
                    done.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof AssertionError a) {
                        throw a;
                    }
                    throw e;
                }
            }
        } finally {
            pool.shutdownNow();
            usageCases.clear();
        }
    }

    @Test
    void onlyTheDaemonsUserOrRootIsServed() throws Exception {
        // A directory others may enter, and a socket others may connect to: the peer credential check remains.
        Path open = Files.createDirectories(dir.resolve("open"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path control = open.resolve("control.sock");
        try (ManagedProcess daemon = Jvdpa.start("daemon-creds", Map.of(), "daemon", "--config",
                config("devices: []\n").toString(), "--control-socket", control.toString())) {
            Jvdpa.awaitReady(daemon);
            Files.setPosixFilePermissions(control, PosixFilePermissions.fromString("rw-rw-rw-"));
            // The CLI as user nobody (65534); java directly, as the launcher would try to build as that user.
            Path root = RepoRoot.find();
            String classPath = root.resolve("cli/target/jvdpa-cli.jar") + ":" + root.resolve("cli/target/lib/*");
            List<String> asNobody = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534",
                    "--clear-groups", javaBinary(), "--enable-native-access=ALL-UNNAMED", "-cp", classPath,
                    "io.jvdpa.cli.Main", "dev", "list", "--control-socket", control.toString()));
            Jvdpa.Result other = Jvdpa.exec(asNobody, Map.of("HOME", "/tmp"));
            assertThat(other.status()).as(other.err()).isEqualTo(1);
            assertThat(other.err()).contains("permission denied: uid 65534 is neither the daemon's user (uid 0) nor root");
            assertThat(daemon.stderr().text()).contains("refused a request from uid 65534");
            // The daemon's own user still gets answers.
            assertThat(Jvdpa.run("dev", "list", "--control-socket", control.toString()).status()).isZero();
        }
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command().orElse("java");
    }
}

package io.jvdpa.it.manage;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.testing.ManagedProcess;
import io.jvdpa.testing.RepoRoot;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The {@code ./jvdpa} launcher at the repository root, run as a user would run it. */
final class Jvdpa {
    /** The first run may build the CLI. */
    private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(3);

    private Jvdpa() {}

    /** How a command ended. */
    record Result(int status, String out, String err) {
        Result ok() {
            assertThat(status).as("exit status of a command that should succeed; stderr:\n%s\nstdout:\n%s", err, out)
                    .isZero();
            return this;
        }
    }

    static Path launcher() {
        return RepoRoot.find().resolve("jvdpa");
    }

    /** Runs {@code ./jvdpa ARGS} to its end. */
    static Result run(String... args) {
        return run(Map.of(), args);
    }

    static Result run(Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>(List.of(launcher().toString()));
        command.addAll(List.of(args));
        return exec(command, env);
    }

    /** Runs any command to its end, capturing both streams. */
    static Result exec(List<String> command, Map<String, String> env) {
        try {
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().putAll(env);
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            Process p = pb.start();
            CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
            if (!p.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(command + " did not end within " + COMMAND_TIMEOUT);
            }
            return new Result(p.exitValue(), out.join(), err.join());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static String read(java.io.InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts a long-running {@code ./jvdpa ARGS} (a daemon, a device); its output goes to the test logs. */
    static ManagedProcess start(String name, Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>(List.of(launcher().toString()));
        command.addAll(List.of(args));
        ManagedProcess.Builder b = ManagedProcess.builder(name).command(command).maxLifetime(Duration.ofMinutes(10));
        env.forEach(b::environment);
        return b.start();
    }

    /** Waits until a daemon listens on its control socket (it logs that after listen(2) and chmod). */
    static void awaitReady(ManagedProcess daemon) {
        daemon.awaitOutput(java.util.regex.Pattern.compile("jvdpa daemon: \\d+ devices, control socket"),
                Duration.ofSeconds(120), true);
    }

    /** Builds the CLI if its sources changed, so later commands start in a second. */
    static void build() {
        run("--version").ok();
    }
}

package io.jvdpa.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * An external process owned by a test: its stdout and stderr captured to files under {@link TestLogs} and into
 * memory, every wait bounded, and killed on {@link #close()}. The command runs under coreutils
 * {@code timeout}, so it dies after {@link Builder#maxLifetime} even if the JVM running the tests is killed
 * and never closes it; a JVM shutdown hook kills whatever is still running at a normal exit.
 */
public final class ManagedProcess implements AutoCloseable {
    private static final Duration TERM_GRACE = Duration.ofSeconds(5);
    private static final int KILL_AFTER_SECONDS = 10;
    private static final Duration BUSY_LOOK_INTERVAL = Duration.ofMillis(1);
    private static final Set<ManagedProcess> RUNNING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(ManagedProcess::kill),
                "kill-managed-processes"));
    }

    private final String name;
    private final Process process;
    private final Path logDirectory;
    private final List<String> command;
    private final OutputCapture stdout;
    private final OutputCapture stderr;

    private ManagedProcess(String name, Process process, Path logDirectory, List<String> command, String stdoutLog) {
        this.name = name;
        this.process = process;
        this.logDirectory = logDirectory;
        this.command = List.copyOf(command);
        this.stdout = OutputCapture.start(name + "-stdout", logDirectory.resolve(stdoutLog), process.getInputStream());
        this.stderr = OutputCapture.start(name + "-stderr", logDirectory.resolve("stderr.log"), process.getErrorStream());
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    public String name() {
        return name;
    }

    /** The command as given (without the {@code timeout} wrapper). */
    public List<String> command() {
        return command;
    }

    /** The directory with stdout.log (or the name given), stderr.log and command.txt. */
    public Path logDirectory() {
        return logDirectory;
    }

    public OutputCapture stdout() {
        return stdout;
    }

    public OutputCapture stderr() {
        return stderr;
    }

    /** The process's stdin (a pipe), for programs driven over it such as a guest console. */
    public OutputStream stdin() {
        return process.getOutputStream();
    }

    /** The pid of the command itself (the child of the {@code timeout} wrapper), or of the wrapper. */
    public long pid() {
        return process.toHandle().children().findFirst().map(ProcessHandle::pid).orElse(process.pid());
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** The exit status once the process has ended (124: killed by the lifetime limit, 128+N: signal N). */
    public Optional<Integer> exitStatus() {
        return process.isAlive() ? Optional.empty() : Optional.of(process.exitValue());
    }

    /** Waits up to {@code timeout} for the process to exit and returns its status. */
    public int waitFor(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new HarnessException(name + " did not exit within " + timeout + "; logs in " + logDirectory);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HarnessException("interrupted waiting for " + name + " to exit", e);
        }
        stdout.awaitEnd(Duration.ofSeconds(2));
        stderr.awaitEnd(Duration.ofSeconds(2));
        return process.exitValue();
    }

    /**
     * Sends a signal by name ({@code "INT"}, {@code "TERM"}, ...) to the command. The {@code timeout} wrapper
     * passes it on, and kills the command {@value #KILL_AFTER_SECONDS} s later if it is still running.
     */
    public void signal(String signal) {
        if (!process.isAlive()) {
            return;
        }
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
                    .redirectErrorStream(true).start();
            if (!kill.waitFor(5, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot send SIG" + signal + " to " + name, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits for {@code pattern} on stdout (or stderr when {@code onStderr}) after position 0, failing early if
     * the process exits.
     */
    public OutputCapture.Match awaitOutput(Pattern pattern, Duration timeout, boolean onStderr) {
        OutputCapture capture = onStderr ? stderr : stdout;
        return capture.await(pattern, 0, timeout, this::exitedReason);
    }

    /** Waits until {@code path} exists (e.g. the unix socket a back-end listens on), failing early on exit. */
    public void awaitPath(Path path, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(path)) {
            String exited = exitedReason();
            if (exited != null) {
                throw new HarnessException(exited + " before creating " + path);
            }
            if (System.nanoTime() > deadline) {
                throw new HarnessException(name + " did not create " + path + " within " + timeout + "; "
                        + describe());
            }
            sleep(Duration.ofMillis(20));
        }
    }

    /**
     * Waits until the command's thread named {@code thread} (its {@code comm}) is running or in an uninterruptible
     * system call, not sleeping: a data-path worker in that state has a request in its hands.
     */
    public void awaitThreadBusy(String thread, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Path task = null;
        while (System.nanoTime() < deadline) {
            try {
                if (task == null) {
                    task = findThread(thread);
                }
                if (task != null) {
                    String stat = Files.readString(task.resolve("stat"));
                    char state = stat.charAt(stat.lastIndexOf(')') + 2);
                    if (state == 'R' || state == 'D') {
                        return;
                    }
                }
            } catch (IOException e) {
                task = null; // the thread ended; look again
            }
            String exited = exitedReason();
            if (exited != null) {
                throw new HarnessException(exited + " while waiting for thread " + thread + " to be busy");
            }
            // Sleep between looks rather than spin: a spinning test takes a core from the process it watches.
            sleep(BUSY_LOOK_INTERVAL);
        }
        throw new HarnessException("thread " + thread + " of " + name + " was not busy within " + timeout);
    }

    private Path findThread(String thread) throws IOException {
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid()), "task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                if (Files.readString(t.resolve("comm")).trim().equals(thread)) {
                    return t;
                }
            }
        }
        return null;
    }

    /** Null while the process runs; otherwise a sentence saying it exited, with its stderr tail. */
    public String exitedReason() {
        if (process.isAlive()) {
            return null;
        }
        stderr.awaitEnd(Duration.ofSeconds(1));
        return name + " exited with status " + process.exitValue() + "; " + describe();
    }

    /** The last lines of both streams and where the logs are, for exception messages. */
    public String describe() {
        return "logs in " + logDirectory + "\n--- stderr tail ---\n" + stderr.tail(2000)
                + "\n--- stdout tail ---\n" + stdout.tail(2000);
    }

    /** Terminates the process (SIGTERM, then SIGKILL after a grace period) and waits for it. */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(TERM_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                    kill();
                    process.waitFor(TERM_GRACE.toMillis(), TimeUnit.MILLISECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
        } finally {
            RUNNING.remove(this);
            stdout.awaitEnd(Duration.ofSeconds(2));
            stderr.awaitEnd(Duration.ofSeconds(2));
        }
    }

    private void kill() {
        process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HarnessException("interrupted", e);
        }
    }

    /** Configures and starts a {@link ManagedProcess}. */
    public static final class Builder {
        private final String name;
        private final List<String> command = new ArrayList<>();
        private final Map<String, String> environment = new LinkedHashMap<>();
        private Duration maxLifetime = Duration.ofMinutes(15);
        private Path directory;
        private String stdoutLog = "stdout.log";

        private Builder(String name) {
            this.name = name;
        }

        public Builder command(List<String> args) {
            command.addAll(args);
            return this;
        }

        public Builder command(String... args) {
            return command(List.of(args));
        }

        public Builder environment(String key, String value) {
            environment.put(key, value);
            return this;
        }

        /** Working directory; the JVM's by default. */
        public Builder directory(Path directory) {
            this.directory = directory;
            return this;
        }

        /** Hard limit after which the process is killed whatever happens to the JVM; 15 minutes by default. */
        public Builder maxLifetime(Duration maxLifetime) {
            this.maxLifetime = maxLifetime;
            return this;
        }

        /** The file name of the stdout log in the log directory, e.g. "console.log" for a guest. */
        public Builder stdoutLog(String fileName) {
            this.stdoutLog = fileName;
            return this;
        }

        public ManagedProcess start() {
            if (command.isEmpty()) {
                throw new IllegalStateException("no command given for " + name);
            }
            requireExecutable(command.getFirst());
            Path logs = TestLogs.newDirectory(name);
            List<String> wrapped = new ArrayList<>(List.of("timeout", "--kill-after=" + KILL_AFTER_SECONDS + "s",
                    Math.max(1, maxLifetime.toSeconds()) + "s"));
            wrapped.addAll(command);
            try {
                Files.writeString(logs.resolve("command.txt"), String.join(" ", command) + "\n");
                ProcessBuilder pb = new ProcessBuilder(wrapped);
                pb.environment().putAll(environment);
                if (directory != null) {
                    pb.directory(directory.toFile());
                }
                ManagedProcess started = new ManagedProcess(name, pb.start(), logs, command, stdoutLog);
                RUNNING.add(started);
                return started;
            } catch (IOException e) {
                throw new HarnessException("cannot start " + name + " (" + command.getFirst() + "): " + e.getMessage(), e);
            }
        }

        /** Fails with what to install when {@code program} is neither a path nor on PATH. */
        private void requireExecutable(String program) {
            if (program.contains("/")) {
                if (Files.isExecutable(Path.of(program))) {
                    return;
                }
            } else {
                String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
                for (String dir : path.split(":")) {
                    if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                        return;
                    }
                }
            }
            throw new HarnessException("cannot start " + name + ": " + program + " is not installed (not found on PATH);"
                    + " scripts/install-deps installs the tools the tests use");
        }
    }
}

package io.jvdpa.it.blk;

import io.jvdpa.testing.ManagedProcess;
import io.jvdpa.testing.RepoRoot;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** {@code ./jvdpa blk ...} run through the launcher at the repository root, as a user runs it. */
final class BlkProcess implements AutoCloseable {
    /** The first start may build the CLI. */
    private static final Duration START = Duration.ofMinutes(4);
    private static final Pattern LISTENING = Pattern.compile("blk device listening on");

    private final ManagedProcess process;

    private BlkProcess(ManagedProcess process) {
        this.process = process;
    }

    /** Starts {@code jvdpa blk --socket-path SOCKET --image IMAGE FLAGS} and waits until it listens. */
    static BlkProcess start(String name, Path socket, Path image, String... flags) {
        List<String> command = new ArrayList<>(List.of(RepoRoot.find().resolve("jvdpa").toString(), "blk",
                "--socket-path", socket.toString(), "--image", image.toString()));
        command.addAll(List.of(flags));
        ManagedProcess p = ManagedProcess.builder(name).command(command).maxLifetime(Duration.ofMinutes(10)).start();
        try {
            p.awaitOutput(LISTENING, START, true);
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        return new BlkProcess(p);
    }

    ManagedProcess process() {
        return process;
    }

    /** SIGKILL to the JVM itself (the launcher execs it), as a crash would end it; waits until it is gone. */
    void kill() {
        long pid = process.pid();
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        process.waitFor(Duration.ofSeconds(30));
    }

    /**
     * SIGKILL at a moment the thread named {@code thread} is running or inside a system call (not waiting for a
     * kick), so the process dies with a request in its hands.
     */
    void killWhileBusy(String thread) {
        process.awaitThreadBusy(thread, Duration.ofSeconds(30));
        kill();
    }

    /** Everything the process logged. */
    String log() {
        return process.stderr().text();
    }

    @Override
    public void close() {
        process.close();
    }
}

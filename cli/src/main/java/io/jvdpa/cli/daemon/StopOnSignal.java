package io.jvdpa.cli.daemon;

import io.jvdpa.cli.FatalFailure;
import java.util.concurrent.CountDownLatch;

/**
 * Waits for SIGTERM or SIGINT, then runs an orderly stop and ends the process with status 0: a requested stop
 * is a success (for systemd too), not the 143 a JVM reports after a signal. A stop caused by a dead thread
 * ({@link FatalFailure}) ends it with that failure's status instead.
 */
final class StopOnSignal {
    private StopOnSignal() {}

    /** Blocks the calling thread; {@code stop} runs when the JVM is asked to stop. Never returns normally. */
    static void awaitThen(Runnable stop) {
        CountDownLatch forever = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                stop.run();
            } finally {
                System.out.flush();
                System.err.flush();
                Runtime.getRuntime().halt(FatalFailure.exitStatus());
            }
        }, "jvdpa-stop"));
        try {
            forever.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

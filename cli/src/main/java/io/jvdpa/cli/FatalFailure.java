package io.jvdpa.cli;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the process does when one of its threads dies. Every serving loop (a worker's ring handlers, a vhost-user
 * connection, a control request) contains the failures of what it serves, so a thread that still dies could not go
 * on at all (an Error such as OutOfMemoryError, a worker whose epoll failed): the devices it ran would hang their
 * guests. The process stops in order instead and exits with {@link Main#EXIT_RUNTIME}, so that a supervisor
 * (systemd's {@code Restart=on-failure}) starts it again and the front-ends reconnect.
 */
public final class FatalFailure {
    private static final Logger LOG = LoggerFactory.getLogger(FatalFailure.class);
    /** The status a stop that is under way ends the process with: 0 for a requested stop. */
    private static volatile int exitStatus;

    private FatalFailure() {}

    /** Makes the death of any thread of this process a runtime failure of the process. */
    public static void install() {
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            exitStatus = Main.EXIT_RUNTIME;
            LOG.error("thread '{}' died, stopping the process with exit status {}: {}", thread.getName(),
                    Main.EXIT_RUNTIME, e.toString(), e);
            System.err.println("jvdpa: thread '" + thread.getName() + "' died (" + e + "), stopping");
            // Not on the dying thread: System.exit blocks its caller while the stop hooks run, and those wait for
            // the process's threads (a worker's close joins it) to end.
            Thread.ofPlatform().name("jvdpa-fatal-stop").start(() -> System.exit(Main.EXIT_RUNTIME));
        });
    }

    /** The status for a stop hook that ends the process itself (with {@link Runtime#halt}). */
    public static int exitStatus() {
        return exitStatus;
    }
}

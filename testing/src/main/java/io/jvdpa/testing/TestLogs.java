package io.jvdpa.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where the logs of external processes go: one directory per process under {@code target/jvdpa-logs/} of the
 * module running the tests (override with {@code -Djvdpa.logs=DIR}), named after the process and the time it
 * started, so a failed run can be read afterwards.
 */
public final class TestLogs {
    private static final AtomicInteger SEQUENCE = new AtomicInteger();
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HHmmss");

    private TestLogs() {
    }

    /** The root of all process logs. */
    public static Path root() {
        return Path.of(System.getProperty("jvdpa.logs", "target/jvdpa-logs")).toAbsolutePath();
    }

    /** A new, empty directory for the logs of one process called {@code name}. */
    public static Path newDirectory(String name) {
        String safe = name.replaceAll("[^A-Za-z0-9._-]", "_");
        Path dir = root().resolve(safe + "-" + LocalTime.now().format(TIME) + "-" + SEQUENCE.incrementAndGet());
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the log directory " + dir, e);
        }
    }
}

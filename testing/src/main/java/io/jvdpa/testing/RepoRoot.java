package io.jvdpa.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** The root of the jvdpa checkout, found from the working directory (or {@code -Djvdpa.root=DIR}). */
public final class RepoRoot {
    private RepoRoot() {
    }

    /** The directory holding the parent pom and scripts/guest-images, searched upwards from the working directory. */
    public static Path find() {
        String configured = System.getProperty("jvdpa.root");
        if (configured != null) {
            return Path.of(configured).toAbsolutePath();
        }
        Path start = Path.of("").toAbsolutePath();
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("pom.xml")) && Files.isRegularFile(dir.resolve("scripts/guest-images"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no jvdpa checkout (pom.xml with scripts/guest-images) at or above " + start
                + "; set -Djvdpa.root=DIR");
    }
}

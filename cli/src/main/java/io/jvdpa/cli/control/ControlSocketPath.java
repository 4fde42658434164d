package io.jvdpa.cli.control;

import java.nio.file.Path;
import java.util.Map;

/** Where the daemon's control socket is unless told otherwise: under $XDG_RUNTIME_DIR, else /run/jvdpa. */
public final class ControlSocketPath {
    public static final String FILE_NAME = "control.sock";
    public static final Path SYSTEM_DIRECTORY = Path.of("/run/jvdpa");

    private ControlSocketPath() {}

    public static Path defaultPath() {
        return defaultPath(System.getenv());
    }

    static Path defaultPath(Map<String, String> env) {
        String runtime = env.get("XDG_RUNTIME_DIR");
        Path dir = runtime != null && !runtime.isBlank() && Path.of(runtime).isAbsolute()
                ? Path.of(runtime, "jvdpa") : SYSTEM_DIRECTORY;
        return dir.resolve(FILE_NAME);
    }
}

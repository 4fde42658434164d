package io.jvdpa.cli.dev;

import io.jvdpa.cli.control.ControlSocketPath;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The flags every {@code jvdpa dev} command takes. */
public final class ControlOptions {
    @Option(names = "--control-socket", paramLabel = "PATH",
            description = "the daemon's control socket (default $XDG_RUNTIME_DIR/jvdpa/control.sock, else "
                    + "/run/jvdpa/control.sock)")
    Path controlSocket;

    @Option(names = "--json", description = "print JSON instead of a table")
    boolean json;

    Path socket() {
        return controlSocket != null ? controlSocket : ControlSocketPath.defaultPath();
    }
}

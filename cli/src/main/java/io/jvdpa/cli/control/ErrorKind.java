package io.jvdpa.cli.control;

import com.fasterxml.jackson.annotation.JsonValue;
import io.jvdpa.cli.Main;

/** Why a control request failed; each maps to the exit code the {@code jvdpa dev} command ends with. */
public enum ErrorKind {
    /** Bad flags or values in the request (exit 2, as for a bad command line). */
    USAGE("usage", Main.EXIT_USAGE),
    /** The device could not start: socket in use, image missing (exit 3). */
    START("start", Main.EXIT_START),
    /** No device of that name (exit 1). */
    NOT_FOUND("not-found", Main.EXIT_RUNTIME),
    /** A device of that name already exists (exit 1). */
    EXISTS("exists", Main.EXIT_RUNTIME),
    /** The peer is neither the daemon's user nor root (exit 1). */
    DENIED("denied", Main.EXIT_RUNTIME),
    /** The daemon is stopping and takes no new requests (exit 1). */
    STOPPING("stopping", Main.EXIT_RUNTIME),
    /** Anything else that went wrong while running (exit 1). */
    FAILED("failed", Main.EXIT_RUNTIME);

    private final String wire;
    private final int exitCode;

    ErrorKind(String wire, int exitCode) {
        this.wire = wire;
        this.exitCode = exitCode;
    }

    @JsonValue
    public String wire() {
        return wire;
    }

    public int exitCode() {
        return exitCode;
    }
}

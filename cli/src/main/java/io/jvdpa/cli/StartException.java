package io.jvdpa.cli;

/** A device could not start (socket in use, image missing, TAP refused...): exit code 3 with this message. */
public final class StartException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StartException(String message, Throwable cause) {
        super(message, cause);
    }

    public StartException(String message) {
        super(message);
    }
}

package io.jvdpa.cli.control;

/** A control request that failed for a reason the client reports with {@link ErrorKind}'s exit code. */
public final class ControlException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorKind kind;

    public ControlException(ErrorKind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ControlException(ErrorKind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public ErrorKind kind() {
        return kind;
    }
}

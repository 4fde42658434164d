package io.jvdpa.vhostuser;

/**
 * The peer broke the protocol: a malformed message, a value out of range, a missing fd. The message names
 * the request and the offending value; the connection decides whether to answer with a failure or close.
 */
public class VhostUserException extends Exception {
    private static final long serialVersionUID = 1L;

    public VhostUserException(String message) {
        super(message);
    }

    public VhostUserException(String message, Throwable cause) {
        super(message, cause);
    }
}

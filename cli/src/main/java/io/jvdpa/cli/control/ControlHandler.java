package io.jvdpa.cli.control;

/** What the daemon does with one control request; called on the connection's thread. */
@FunctionalInterface
public interface ControlHandler {
    /** Answers {@code request}; a {@link ControlException} becomes a failure response of its kind. */
    Object handle(ControlRequest request);
}

package io.jvdpa.testing;

import java.util.List;

/**
 * A QEMU guest did not boot, a command on its console did not finish in time, or QEMU reported a vhost-user
 * failure. {@link #qemuErrors()} holds what QEMU printed on stderr up to the failure, so a test can assert
 * that a refused configuration was refused for the expected reason.
 */
public final class GuestException extends HarnessException {
    private final List<String> qemuErrors;

    public GuestException(String message, List<String> qemuErrors) {
        super(message);
        this.qemuErrors = List.copyOf(qemuErrors);
    }

    /** QEMU's stderr lines at the time of the failure. */
    public List<String> qemuErrors() {
        return qemuErrors;
    }
}

package io.jvdpa.device;

/** A device refuses what the front-end or driver asked; the message says what and why. */
public class DeviceException extends Exception {
    private static final long serialVersionUID = 1L;

    public DeviceException(String message) {
        super(message);
    }

    public DeviceException(String message, Throwable cause) {
        super(message, cause);
    }
}

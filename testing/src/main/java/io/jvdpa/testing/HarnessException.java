package io.jvdpa.testing;

/**
 * An external process the tests drive (QEMU, dpdk-testpmd, qemu-storage-daemon, a jvdpa back-end) failed, did
 * not become ready in time, or reported an error. The message says what was expected, what was seen and where
 * the full logs are.
 */
public class HarnessException extends RuntimeException {
    public HarnessException(String message) {
        super(message);
    }

    public HarnessException(String message, Throwable cause) {
        super(message, cause);
    }
}

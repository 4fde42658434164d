package io.jvdpa.virtqueue;

/**
 * A driver broke a ring rule. Raised while a chain is parsed, before any buffer byte is touched, and caught at
 * the queue's edge, where it marks the queue broken; it never leaves {@link DeviceQueue#pop}.
 */
final class RingViolation extends RuntimeException {
    private static final long serialVersionUID = 1L;

    RingViolation(String message) {
        super(message, null, false, false);
    }
}

package io.jvdpa.blk;

/**
 * The cache mode in force: the configured one, changed by the driver through the config space's
 * {@code writeback} field (CONFIG_WCE), and forced to writethrough for a driver that cannot flush (no FLUSH).
 * Written on the control thread, read by every queue.
 */
final class CacheState {
    private final CacheMode configured;
    private volatile boolean writeback;
    private volatile boolean driverFlushes = true;

    CacheState(CacheMode configured) {
        this.configured = configured;
        this.writeback = configured == CacheMode.WRITEBACK;
    }

    /** A new driver: the configured mode again; {@code flushes} is whether it negotiated FLUSH. */
    void reset(boolean flushes) {
        writeback = configured == CacheMode.WRITEBACK;
        driverFlushes = flushes;
    }

    /** The {@code writeback} config field as the driver wrote it. */
    void setWriteback(boolean on) {
        writeback = on;
    }

    /** What the config space's {@code writeback} field reads. */
    boolean writeback() {
        return writeback;
    }

    /** Whether a request that changes the image must be on stable storage before it completes. */
    boolean writethrough() {
        return !writeback || !driverFlushes;
    }
}

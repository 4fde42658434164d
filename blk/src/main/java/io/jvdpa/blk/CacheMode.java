package io.jvdpa.blk;

/**
 * Where a completed write stands. Writeback: in the host's page cache, made durable by FLUSH. Writethrough: on
 * stable storage (fdatasync) before it completes. The driver may switch through the config space's
 * {@code writeback} field when CONFIG_WCE is negotiated; without FLUSH a driver cannot flush, so it gets
 * writethrough.
 */
public enum CacheMode {
    WRITEBACK("writeback"),
    WRITETHROUGH("writethrough");

    private final String flag;

    CacheMode(String flag) {
        this.flag = flag;
    }

    public String flag() {
        return flag;
    }

    /** Parses {@code --cache}'s value; IllegalArgumentException names the accepted ones. */
    public static CacheMode ofFlag(String value) {
        for (CacheMode m : values()) {
            if (m.flag.equals(value)) {
                return m;
            }
        }
        throw new IllegalArgumentException("--cache takes writeback or writethrough, not '" + value + "'");
    }
}

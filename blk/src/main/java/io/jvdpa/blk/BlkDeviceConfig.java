package io.jvdpa.blk;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * How a block device presents its image: the serial GET_ID returns, the number of request queues, read-only,
 * and the cache mode it starts in.
 */
public record BlkDeviceConfig(String serial, int queues, boolean readOnly, CacheMode cache) {
    public static final int MAX_QUEUES = 64;

    public BlkDeviceConfig {
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(cache, "cache");
        if (queues < 1 || queues > MAX_QUEUES) {
            throw new IllegalArgumentException("queues " + queues + " is outside 1.." + MAX_QUEUES);
        }
        byte[] bytes = serial.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length > VirtioBlk.ID_BYTES || !StandardCharsets.US_ASCII.newEncoder().canEncode(serial)
                || serial.chars().anyMatch(c -> c < 0x20 || c > 0x7e)) {
            throw new IllegalArgumentException("serial '" + serial + "' is not printable ASCII of at most "
                    + VirtioBlk.ID_BYTES + " bytes");
        }
    }

    public static BlkDeviceConfig defaults(String serial) {
        return new BlkDeviceConfig(serial, 1, false, CacheMode.WRITEBACK);
    }

    /** GET_ID's 20 bytes: the serial, zero-padded. */
    byte[] idBytes() {
        byte[] id = new byte[VirtioBlk.ID_BYTES];
        byte[] s = serial.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(s, 0, id, 0, s.length);
        return id;
    }
}

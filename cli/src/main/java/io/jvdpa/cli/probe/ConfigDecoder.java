package io.jvdpa.cli.probe;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

/** Decodes a config space read with GET_CONFIG (little-endian: the modern layout) into named fields. */
final class ConfigDecoder {
    private ConfigDecoder() {}

    static Map<String, Object> decode(String type, byte[] config, long features) {
        ByteBuffer b = ByteBuffer.wrap(config).order(ByteOrder.LITTLE_ENDIAN);
        Map<String, Object> out = new LinkedHashMap<>();
        if (type.equals("net") && config.length >= 12) {
            if (has(features, 5)) {
                StringBuilder mac = new StringBuilder();
                for (int i = 0; i < 6; i++) {
                    mac.append(i == 0 ? "" : ":").append(String.format("%02x", config[i] & 0xff));
                }
                out.put("mac", mac.toString());
            }
            if (has(features, 16)) {
                int status = Short.toUnsignedInt(b.getShort(6));
                out.put("link", (status & 1) != 0 ? "up" : "down");
            }
            if (has(features, 22)) {
                out.put("max_virtqueue_pairs", Short.toUnsignedInt(b.getShort(8)));
            }
            if (has(features, 3)) {
                out.put("mtu", Short.toUnsignedInt(b.getShort(10)));
            }
        } else if (type.equals("blk") && config.length >= 60) {
            long capacity = b.getLong(0);
            out.put("capacity_sectors", capacity);
            out.put("capacity_bytes", capacity * 512);
            if (has(features, 1)) {
                out.put("size_max", Integer.toUnsignedLong(b.getInt(8)));
            }
            if (has(features, 2)) {
                out.put("seg_max", Integer.toUnsignedLong(b.getInt(12)));
            }
            if (has(features, 6)) {
                out.put("blk_size", Integer.toUnsignedLong(b.getInt(20)));
            }
            if (has(features, 11)) {
                out.put("writeback", config[32] & 0xff);
            }
            if (has(features, 12)) {
                out.put("num_queues", Short.toUnsignedInt(b.getShort(34)));
            }
            if (has(features, 13)) {
                out.put("max_discard_sectors", Integer.toUnsignedLong(b.getInt(36)));
            }
            if (has(features, 14)) {
                out.put("max_write_zeroes_sectors", Integer.toUnsignedLong(b.getInt(48)));
            }
        }
        return out;
    }

    private static boolean has(long features, int bit) {
        return (features & (1L << bit)) != 0;
    }
}

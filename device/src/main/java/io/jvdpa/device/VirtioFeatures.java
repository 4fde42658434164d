package io.jvdpa.device;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Feature bits that belong to the transport and ring rather than to one device type (virtio 1.2 section 6),
 * plus the two vhost bits that travel in the same word. Device types add their own names through
 * {@link #names(long, Map)}.
 */
public final class VirtioFeatures {
    public static final int NOTIFY_ON_EMPTY = 24;
    /** Legacy only: the driver may lay buffers out freely (no "header in its own descriptor"). */
    public static final int ANY_LAYOUT = 27;
    public static final int RING_INDIRECT_DESC = 28;
    public static final int RING_EVENT_IDX = 29;
    public static final int VERSION_1 = 32;
    public static final int ACCESS_PLATFORM = 33;
    public static final int RING_PACKED = 34;
    public static final int IN_ORDER = 35;
    public static final int ORDER_PLATFORM = 36;
    /** vhost: the front-end migrates and wants dirty pages logged. */
    public static final int LOG_ALL = 26;
    /** vhost-user: the back-end speaks protocol features (never seen by a driver). */
    public static final int PROTOCOL_FEATURES = 30;

    private static final Map<Integer, String> TRANSPORT = Map.ofEntries(
            Map.entry(NOTIFY_ON_EMPTY, "NOTIFY_ON_EMPTY"), Map.entry(ANY_LAYOUT, "ANY_LAYOUT"),
            Map.entry(RING_INDIRECT_DESC, "RING_INDIRECT_DESC"), Map.entry(RING_EVENT_IDX, "RING_EVENT_IDX"),
            Map.entry(VERSION_1, "VERSION_1"), Map.entry(ACCESS_PLATFORM, "ACCESS_PLATFORM"),
            Map.entry(RING_PACKED, "RING_PACKED"), Map.entry(IN_ORDER, "IN_ORDER"),
            Map.entry(ORDER_PLATFORM, "ORDER_PLATFORM"), Map.entry(LOG_ALL, "LOG_ALL"),
            Map.entry(PROTOCOL_FEATURES, "PROTOCOL_FEATURES"));

    private VirtioFeatures() {}

    public static long bit(int n) {
        return 1L << n;
    }

    public static boolean has(long features, int n) {
        return (features & (1L << n)) != 0;
    }

    /** Names of every bit set, device bits from {@code deviceNames}, unknown bits as "bit N". */
    public static List<String> names(long features, Map<Integer, String> deviceNames) {
        List<String> out = new ArrayList<>();
        for (int b = 0; b < 64; b++) {
            if (has(features, b)) {
                String n = TRANSPORT.get(b);
                if (n == null) {
                    n = deviceNames.getOrDefault(b, "bit " + b);
                }
                out.add(n);
            }
        }
        return out;
    }
}

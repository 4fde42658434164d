package io.jvdpa.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;

/**
 * Ethernet addresses as 48-bit values in a long (the first byte on the wire is the most significant), so the
 * data path compares and stores them without objects.
 */
public final class MacAddress {
    public static final long BROADCAST = 0xFFFF_FFFF_FFFFL;
    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN);

    private MacAddress() {}

    /** Parses "52:54:00:12:34:56" (or with '-'); throws IllegalArgumentException naming the text. */
    public static long parse(String text) {
        if (text == null || !text.matches("(?i)([0-9a-f]{2}[:-]){5}[0-9a-f]{2}")) {
            throw new IllegalArgumentException("'" + text + "' is not a MAC address like 52:54:00:12:34:56");
        }
        return Long.parseLong(text.replace(":", "").replace("-", ""), 16);
    }

    public static String format(long mac) {
        String hex = HexFormat.of().toHexDigits(mac).substring(4);
        StringBuilder b = new StringBuilder(17);
        for (int i = 0; i < 12; i += 2) {
            if (i > 0) {
                b.append(':');
            }
            b.append(hex, i, i + 2);
        }
        return b.toString();
    }

    public static byte[] toBytes(long mac) {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (byte) (mac >>> (40 - 8 * i));
        }
        return b;
    }

    public static long of(byte[] bytes, int offset) {
        long mac = 0;
        for (int i = 0; i < 6; i++) {
            mac = (mac << 8) | (bytes[offset + i] & 0xFF);
        }
        return mac;
    }

    public static long get(MemorySegment s, long offset) {
        return ((long) (s.get(BE16, offset) & 0xFFFF) << 32) | (s.get(BE32, offset + 2) & 0xFFFF_FFFFL);
    }

    public static void put(MemorySegment s, long offset, long mac) {
        s.set(BE16, offset, (short) (mac >>> 32));
        s.set(BE32, offset + 2, (int) mac);
    }

    /** The group bit: broadcast and multicast addresses. */
    public static boolean isMulticast(long mac) {
        return (mac & 0x0100_0000_0000L) != 0;
    }

    public static boolean isBroadcast(long mac) {
        return mac == BROADCAST;
    }
}

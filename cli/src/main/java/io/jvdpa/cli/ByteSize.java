package io.jvdpa.cli;

import java.util.Locale;

/** Sizes on the command line: a number of bytes with an optional binary suffix (K, M, G, T; KiB... also taken). */
final class ByteSize {
    private ByteSize() {}

    /** Parses {@code text}; IllegalArgumentException names {@code flag} and says what is accepted. */
    static long parse(String flag, String text) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        if (t.endsWith("IB")) {
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("B")) {
            t = t.substring(0, t.length() - 1);
        }
        int shift = 0;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                default -> shift = -1;
            }
            if (shift >= 0) {
                t = t.substring(0, t.length() - 1);
            } else {
                shift = 0;
            }
        }
        long value;
        try {
            value = Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " '" + text + "' is not a size like 64M, 1G or 1048576");
        }
        if (value <= 0 || value > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException(flag + " '" + text + "' is not a positive size that fits in 64 bits");
        }
        return value << shift;
    }
}

package io.jvdpa.net;

/**
 * An IPv4 address with its prefix length, as {@code --ip 10.0.2.2/24} gives it.
 *
 * @param address the address as a 32-bit value, first octet most significant
 * @param length  the prefix length, 0 to 32
 */
public record Ipv4Prefix(int address, int length) {
    public Ipv4Prefix {
        if (length < 0 || length > 32) {
            throw new IllegalArgumentException("prefix length " + length + " outside 0..32");
        }
    }

    /** Parses "10.0.2.2/24"; without "/N" the length is 24. Throws IllegalArgumentException naming the text. */
    public static Ipv4Prefix parse(String text) {
        String[] parts = text.split("/", -1);
        if (parts.length > 2) {
            throw new IllegalArgumentException("'" + text + "' is not an IPv4 address like 10.0.2.2/24");
        }
        int length = 24;
        if (parts.length == 2) {
            try {
                length = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + text + "' has no prefix length after '/'");
            }
            if (length < 1 || length > 30) {
                throw new IllegalArgumentException("'" + text + "': prefix length must be 1..30 to leave room for a guest");
            }
        }
        String[] octets = parts[0].split("\\.", -1);
        if (octets.length != 4) {
            throw new IllegalArgumentException("'" + text + "' is not an IPv4 address like 10.0.2.2/24");
        }
        int address = 0;
        for (String o : octets) {
            int v;
            try {
                v = Integer.parseInt(o);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + text + "' is not an IPv4 address like 10.0.2.2/24");
            }
            if (v < 0 || v > 255 || o.isEmpty() || o.length() > 3) {
                throw new IllegalArgumentException("'" + text + "' has an octet outside 0..255");
            }
            address = (address << 8) | v;
        }
        return new Ipv4Prefix(address, length);
    }

    public static String format(int address) {
        return (address >>> 24) + "." + ((address >>> 16) & 0xFF) + "." + ((address >>> 8) & 0xFF) + "." + (address & 0xFF);
    }

    @Override
    public String toString() {
        return format(address) + "/" + length;
    }
}

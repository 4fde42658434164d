package io.jvdpa.device;

/** Which legacy (pre-VERSION_1) drivers a device serves: the {@code --legacy} flag. */
public enum LegacyPolicy {
    /** Legacy drivers of either byte order. */
    AUTO,
    /** Legacy drivers only when they are little-endian; big-endian ones are refused. */
    LE_ONLY,
    /** Modern drivers only. */
    OFF;

    public String flag() {
        return name().toLowerCase().replace('_', '-');
    }

    public static LegacyPolicy ofFlag(String flag) {
        for (LegacyPolicy p : values()) {
            if (p.flag().equals(flag)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown legacy policy '" + flag + "' (auto, le-only or off)");
    }
}

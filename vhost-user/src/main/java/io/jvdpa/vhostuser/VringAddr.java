package io.jvdpa.vhostuser;

/**
 * SET_VRING_ADDR's payload. The three ring addresses are front-end virtual addresses; for a packed ring
 * {@code desc} is the descriptor ring, {@code avail} the driver event suppression area and {@code used}
 * the device event suppression area. {@code log} is guest-physical.
 */
public record VringAddr(int index, int flags, long desc, long used, long avail, long log) {
    /** VHOST_VRING_F_LOG: writes to the used ring are logged at {@link #log}. */
    public static final int F_LOG = 1;

    public boolean logUsed() {
        return (flags & F_LOG) != 0;
    }
}

package io.jvdpa.virtqueue;

/**
 * Where a device queue stands: what GET_VRING_BASE reports and SET_VRING_BASE restores.
 *
 * <p>Split ring: {@code nextAvail} and {@code nextUsed} are free-running 16-bit indices; the wrap counters are
 * unused. Packed ring: both indices are ring positions (0..size-1) and the wrap counters are the device's Driver
 * and Device Ring Wrap Counters (VIRTIO 1.2 §2.8.1), both 1 at start.
 *
 * @param nextAvail next available entry (split: avail ring index; packed: descriptor position) the device reads
 * @param nextUsed  next used entry the device writes; {@link #USED_FROM_RING} on a split ring means "read the
 *                  used ring's idx when the queue starts", which is what vhost-user's SET_VRING_BASE implies
 */
public record RingState(int nextAvail, int nextUsed, boolean availWrap, boolean usedWrap) {
    /** For split rings: take the used index from the used ring's {@code idx} field. */
    public static final int USED_FROM_RING = -1;

    public RingState {
        if (nextAvail < 0 || nextAvail > 0xFFFF) {
            throw new IllegalArgumentException("next avail index %d is not a 16-bit value".formatted(nextAvail));
        }
        if (nextUsed < USED_FROM_RING || nextUsed > 0xFFFF) {
            throw new IllegalArgumentException("next used index %d is not a 16-bit value".formatted(nextUsed));
        }
    }

    /** A fresh queue: indices 0, wrap counters 1. */
    public static RingState initial() {
        return new RingState(0, 0, true, true);
    }

    public static RingState split(int nextAvail, int nextUsed) {
        return new RingState(nextAvail, nextUsed, true, true);
    }

    public static RingState packed(int nextAvail, boolean availWrap, int nextUsed, boolean usedWrap) {
        return new RingState(nextAvail, nextUsed, availWrap, usedWrap);
    }

    /**
     * Decodes a vhost-user vring state {@code num}. Split: bits 0-15 are the next avail index. Packed: bits 0-14
     * the avail position, bit 15 its wrap counter, bits 16-30 the used position and bit 31 its wrap counter; a
     * front-end that sends only the low 16 bits (upper half zero) means "used equals avail".
     */
    public static RingState fromVhostUser(long num, boolean packed) {
        if (!packed) {
            return new RingState((int) (num & 0xFFFF), USED_FROM_RING, true, true);
        }
        int avail = (int) (num & 0x7FFF);
        boolean availWrap = (num & 0x8000) != 0;
        long high = (num >>> 16) & 0xFFFF;
        if (high == 0) {
            return new RingState(avail, avail, availWrap, availWrap);
        }
        return new RingState(avail, (int) (high & 0x7FFF), availWrap, (high & 0x8000) != 0);
    }

    /** Encodes this state as the vhost-user vring state {@code num} (see {@link #fromVhostUser}). */
    public long toVhostUser(boolean packed) {
        if (!packed) {
            return nextAvail;
        }
        long avail = nextAvail | (availWrap ? 0x8000 : 0);
        long used = Math.max(nextUsed, 0) | (usedWrap ? 0x8000 : 0);
        return avail | (used << 16);
    }
}

package io.jvdpa.memory;

/**
 * A guest address or range that no region maps, or that overflows. The message names the offending
 * values; callers treat it as the guest's (or front-end's) fault, never as a bug of ours.
 */
public final class GuestMemoryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GuestMemoryException(String message) {
        super(message);
    }

    static GuestMemoryException unmapped(String space, long addr, long length) {
        return new GuestMemoryException(String.format(
                "%s range [0x%x, +0x%x) is not mapped by any memory region", space, addr, length));
    }
}

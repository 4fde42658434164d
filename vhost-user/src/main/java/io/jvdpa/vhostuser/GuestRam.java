package io.jvdpa.vhostuser;

import io.jvdpa.sys.Fd;
import io.jvdpa.sys.Mapping;
import io.jvdpa.sys.MemFd;
import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * A front-end's guest memory: one shared memfd, mapped here, handed to the back-end as one region, with a
 * bump allocator for rings and buffers. Guest-physical addresses start at {@link #GUEST_BASE}.
 */
public final class GuestRam implements AutoCloseable {
    public static final long GUEST_BASE = 0x1_0000_0000L;

    private final Fd fd;
    private final Mapping mapping;
    private long next;

    public GuestRam(long size) throws IOException {
        this.fd = MemFd.create("jvdpa-guest-ram", size);
        try {
            this.mapping = Mapping.map(fd, 0, size);
        } catch (IOException e) {
            fd.close();
            throw e;
        }
    }

    /** The region to send in SET_MEM_TABLE: our mapping's address is the front-end virtual address. */
    public MemoryRegionSpec region() {
        return new MemoryRegionSpec(GUEST_BASE, mapping.length(), mapping.segment().address(), 0);
    }

    public Fd fd() {
        return fd;
    }

    public MemorySegment segment() {
        return mapping.segment();
    }

    /** Allocates {@code size} bytes aligned to {@code align}; returns the guest-physical address. */
    public long allocate(long size, long align) {
        long at = (next + align - 1) & -align;
        if (at + size > mapping.length()) {
            throw new IllegalStateException("guest RAM of " + mapping.length() + " bytes is full");
        }
        next = at + size;
        return GUEST_BASE + at;
    }

    /** The bytes at guest-physical {@code gpa}. */
    public MemorySegment at(long gpa, long size) {
        return mapping.segment().asSlice(gpa - GUEST_BASE, size);
    }

    /** The front-end virtual address of guest-physical {@code gpa}. */
    public long userAddr(long gpa) {
        return mapping.segment().address() + (gpa - GUEST_BASE);
    }

    @Override
    public void close() {
        mapping.close();
        fd.close();
    }
}

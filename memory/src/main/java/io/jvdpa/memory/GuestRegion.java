package io.jvdpa.memory;

import io.jvdpa.sys.Fd;
import io.jvdpa.sys.Mapping;
import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * One region of guest memory as vhost-user describes it: a guest-physical range, the front-end's virtual
 * address for the same bytes, and the segment this process reaches them through.
 */
public final class GuestRegion implements AutoCloseable {
    private final long guestPhysAddr;
    private final long userAddr;
    private final long size;
    private final MemorySegment segment;
    private final Mapping mapping;

    private GuestRegion(long guestPhysAddr, long userAddr, MemorySegment segment, Mapping mapping) {
        this.size = segment.byteSize();
        if (size <= 0) {
            throw new GuestMemoryException("memory region at guest address 0x%x has size 0".formatted(guestPhysAddr));
        }
        if (Long.compareUnsigned(guestPhysAddr + size - 1, guestPhysAddr) < 0
                || Long.compareUnsigned(userAddr + size - 1, userAddr) < 0) {
            throw new GuestMemoryException("memory region [gpa 0x%x, uva 0x%x, size 0x%x) wraps the address space"
                    .formatted(guestPhysAddr, userAddr, size));
        }
        this.guestPhysAddr = guestPhysAddr;
        this.userAddr = userAddr;
        this.segment = segment;
        this.mapping = mapping;
    }

    /** A region over memory the caller owns and keeps alive (tests, in-process front-ends). */
    public static GuestRegion of(long guestPhysAddr, long userAddr, MemorySegment segment) {
        return new GuestRegion(guestPhysAddr, userAddr, segment, null);
    }

    /**
     * Maps {@code size} bytes of {@code fd} from {@code mmapOffset}. The fd may be closed afterwards; the
     * mapping lives until {@link #close()}.
     */
    public static GuestRegion map(long guestPhysAddr, long size, long userAddr, long mmapOffset, Fd fd)
            throws IOException {
        if (size <= 0) {
            throw new GuestMemoryException("memory region at guest address 0x%x has size %d"
                    .formatted(guestPhysAddr, size));
        }
        Mapping mapping = Mapping.map(fd, mmapOffset, size);
        try {
            return new GuestRegion(guestPhysAddr, userAddr, mapping.segment(), mapping);
        } catch (RuntimeException e) {
            mapping.close();
            throw e;
        }
    }

    public long guestPhysAddr() {
        return guestPhysAddr;
    }

    public long userAddr() {
        return userAddr;
    }

    public long size() {
        return size;
    }

    /** The region's bytes; offset 0 is {@link #guestPhysAddr()}. */
    public MemorySegment segment() {
        return segment;
    }

    boolean containsGuest(long gpa) {
        return Long.compareUnsigned(gpa - guestPhysAddr, size) < 0;
    }

    boolean containsUser(long uva) {
        return Long.compareUnsigned(uva - userAddr, size) < 0;
    }

    boolean overlaps(GuestRegion other) {
        return Long.compareUnsigned(guestPhysAddr, other.guestPhysAddr + other.size - 1) <= 0
                && Long.compareUnsigned(other.guestPhysAddr, guestPhysAddr + size - 1) <= 0;
    }

    boolean sameAs(long gpa, long sz, long uva) {
        return guestPhysAddr == gpa && size == sz && userAddr == uva;
    }

    /**
     * Whether {@link #map} with these arguments would give this region again: the same addresses and size over
     * the same bytes of the same file. A front-end resends its whole table when one region changes; the others
     * keep their mapping, so buffers a device holds in them stay valid.
     */
    public boolean isMappingOf(long gpa, long sz, long uva, long mmapOffset, Fd fd) throws IOException {
        return mapping != null && sameAs(gpa, sz, uva) && mapping.sameAs(fd, mmapOffset, sz, false);
    }

    /** Unmaps the region if this object mapped it; segments taken from it fail on access afterwards. */
    @Override
    public void close() {
        if (mapping != null) {
            mapping.close();
        }
    }

    @Override
    public String toString() {
        return "GuestRegion[gpa=0x%x, uva=0x%x, size=0x%x]".formatted(guestPhysAddr, userAddr, size);
    }
}

package io.jvdpa.memory;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * An immutable view of guest memory: the regions in guest-physical order, with range translation.
 *
 * <p>Every translation checks the whole range against one region with overflow-safe arithmetic before any
 * byte is touched, so a hostile address can never reach memory outside the guest's regions. A range that
 * runs from one region into the next is refused by {@link #slice} and split by callers that walk
 * scatter/gather buffers, using {@link #contiguous}.
 *
 * <p>Instances never change; {@link GuestMemoryMap} publishes a new one when the front-end changes the table.
 */
public final class GuestMemory {
    public static final GuestMemory EMPTY = new GuestMemory(new GuestRegion[0]);

    private final GuestRegion[] regions;

    private GuestMemory(GuestRegion[] regions) {
        this.regions = regions;
    }

    /** Builds a view, refusing regions that overlap in guest-physical space. */
    public static GuestMemory of(List<GuestRegion> regions) {
        GuestRegion[] sorted = regions.toArray(GuestRegion[]::new);
        Arrays.sort(sorted, Comparator.comparingLong(GuestRegion::guestPhysAddr));
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i - 1].overlaps(sorted[i])) {
                throw new GuestMemoryException("memory regions overlap: %s and %s".formatted(sorted[i - 1], sorted[i]));
            }
        }
        return new GuestMemory(sorted);
    }

    public static GuestMemory of(GuestRegion... regions) {
        return of(List.of(regions));
    }

    public List<GuestRegion> regions() {
        return List.of(regions);
    }

    public boolean isEmpty() {
        return regions.length == 0;
    }

    /** The region containing guest-physical address {@code gpa}, or null. */
    public GuestRegion regionAt(long gpa) {
        for (GuestRegion r : regions) {
            if (r.containsGuest(gpa)) {
                return r;
            }
        }
        return null;
    }

    /**
     * The guest-physical range {@code [gpa, gpa+length)} as one segment. Refuses zero length, wrap-around,
     * unmapped bytes and ranges crossing a region boundary.
     */
    public MemorySegment slice(long gpa, long length) {
        GuestRegion r = regionFor(gpa, length);
        return r.segment().asSlice(gpa - r.guestPhysAddr(), length);
    }

    /**
     * The region holding all of {@code [gpa, gpa+length)}; the caller reads at offset
     * {@code gpa - region.guestPhysAddr()} without creating a slice.
     */
    public GuestRegion regionFor(long gpa, long length) {
        checkRange("guest-physical", gpa, length);
        GuestRegion r = regionAt(gpa);
        if (r == null || Long.compareUnsigned(length, r.size() - (gpa - r.guestPhysAddr())) > 0) {
            throw GuestMemoryException.unmapped("guest-physical", gpa, length);
        }
        return r;
    }

    /**
     * How many bytes from {@code gpa} (at most {@code length}) lie in the region that contains {@code gpa};
     * 0 when no region contains it. Scatter/gather walkers use this to split a buffer at a region boundary.
     */
    public long contiguous(long gpa, long length) {
        GuestRegion r = regionAt(gpa);
        if (r == null) {
            return 0;
        }
        long left = r.size() - (gpa - r.guestPhysAddr());
        return Long.compareUnsigned(length, left) < 0 ? length : left;
    }

    /** The front-end-virtual range {@code [uva, uva+length)} (how vhost-user gives ring addresses) as one segment. */
    public MemorySegment sliceUser(long uva, long length) {
        checkRange("front-end virtual", uva, length);
        for (GuestRegion r : regions) {
            if (r.containsUser(uva)) {
                long offset = uva - r.userAddr();
                if (Long.compareUnsigned(length, r.size() - offset) > 0) {
                    break;
                }
                return r.segment().asSlice(offset, length);
            }
        }
        throw GuestMemoryException.unmapped("front-end virtual", uva, length);
    }

    /** Translates a front-end virtual address to guest-physical (for dirty logging of rings). */
    public long userToGuest(long uva) {
        for (GuestRegion r : regions) {
            if (r.containsUser(uva)) {
                return r.guestPhysAddr() + (uva - r.userAddr());
            }
        }
        throw GuestMemoryException.unmapped("front-end virtual", uva, 1);
    }

    private static void checkRange(String space, long addr, long length) {
        if (length <= 0) {
            throw new GuestMemoryException("%s range at 0x%x has length %d".formatted(space, addr, length));
        }
        if (Long.compareUnsigned(addr + length - 1, addr) < 0) {
            throw new GuestMemoryException("%s range [0x%x, +0x%x) wraps the address space".formatted(space, addr, length));
        }
    }

    @Override
    public String toString() {
        return "GuestMemory" + Arrays.toString(regions);
    }
}

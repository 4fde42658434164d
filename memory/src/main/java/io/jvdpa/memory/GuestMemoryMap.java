package io.jvdpa.memory;

import io.jvdpa.sys.Fd;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The guest memory table a front-end has given: owns the regions, publishes immutable {@link GuestMemory}
 * snapshots to the queue threads, and unmaps regions it replaces or removes.
 *
 * <p>Changes come from one thread (the connection's); readers take {@link #current()} once per burst.
 */
public final class GuestMemoryMap implements AutoCloseable {
    private volatile GuestMemory current = GuestMemory.EMPTY;

    public GuestMemory current() {
        return current;
    }

    /**
     * Replaces the whole table (SET_MEM_TABLE); the previous regions are unmapped, except those that are in the new
     * table too.
     */
    public synchronized void replace(List<GuestRegion> regions) {
        GuestMemory next;
        try {
            next = GuestMemory.of(regions);
        } catch (RuntimeException e) {
            regions.forEach(GuestRegion::close);
            throw e;
        }
        GuestMemory old = current;
        current = next;
        for (GuestRegion r : old.regions()) {
            if (!regions.contains(r)) {
                r.close();
            }
        }
    }

    /** The region of the current table that {@code map} with these arguments would give again, or null. */
    public GuestRegion mappingOf(long gpa, long size, long uva, long mmapOffset, Fd fd)
            throws IOException {
        for (GuestRegion r : current.regions()) {
            if (r.isMappingOf(gpa, size, uva, mmapOffset, fd)) {
                return r;
            }
        }
        return null;
    }

    /** Adds one region (ADD_MEM_REG); refused, and the region closed, if it overlaps one already present. */
    public synchronized void add(GuestRegion region) {
        List<GuestRegion> all = new ArrayList<>(current.regions());
        all.add(region);
        try {
            current = GuestMemory.of(all);
        } catch (RuntimeException e) {
            region.close();
            throw e;
        }
    }

    /** Removes the region with exactly these coordinates (REM_MEM_REG); false if there is none. */
    public synchronized boolean remove(long guestPhysAddr, long size, long userAddr) {
        List<GuestRegion> all = new ArrayList<>(current.regions());
        for (GuestRegion r : all) {
            if (r.sameAs(guestPhysAddr, size, userAddr)) {
                all.remove(r);
                current = GuestMemory.of(all);
                r.close();
                return true;
            }
        }
        return false;
    }

    public int size() {
        return current.regions().size();
    }

    @Override
    public synchronized void close() {
        GuestMemory old = current;
        current = GuestMemory.EMPTY;
        old.regions().forEach(GuestRegion::close);
    }
}

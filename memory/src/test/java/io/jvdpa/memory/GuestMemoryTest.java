package io.jvdpa.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.api.Test;

class GuestMemoryTest {
    private static final Arena ARENA = Arena.ofAuto();
    // Two adjacent regions (as QEMU splits RAM around holes) and one far away at the top of the space, in both
    // guest-physical and front-end virtual addresses.
    private static final long LOW = 0x0;
    private static final long MID = 0x10000;
    private static final long HIGH = 0xffff_ffff_ffff_0000L;
    private static final long LOW_UVA = 0x7f00_0000_0000L;
    private static final long MID_UVA = 0x7f00_0001_0000L;
    private static final long HIGH_UVA = 0xffff_ffff_ffff_0000L;
    private static final GuestMemory MEMORY = GuestMemory.of(
            GuestRegion.of(MID, MID_UVA, ARENA.allocate(0x8000)),
            GuestRegion.of(LOW, LOW_UVA, ARENA.allocate(0x10000)),
            GuestRegion.of(HIGH, HIGH_UVA, ARENA.allocate(0x10000)));

    @Provide
    Arbitrary<Long> addresses() {
        return Arbitraries.oneOf(
                Arbitraries.longs(),
                Arbitraries.longs().between(0, 0x20000),
                Arbitraries.longs().between(HIGH - 0x100, -1L).map(x -> x),
                Arbitraries.of(0L, MID - 1, MID, MID + 0x7fff, MID + 0x8000, HIGH, -1L));
    }

    @Provide
    Arbitrary<Long> lengths() {
        return Arbitraries.oneOf(Arbitraries.longs(), Arbitraries.longs().between(-2, 0x20000),
                Arbitraries.of(0L, 1L, 0x8000L, 0x10000L, Long.MAX_VALUE, Long.MIN_VALUE, -1L));
    }

    /** Whatever the range, a slice either lies wholly inside one region at the right offset, or is refused. */
    @Property(tries = 5000)
    void sliceIsInsideOneRegionOrRefused(@ForAll("addresses") long gpa, @ForAll("lengths") long length) {
        MemorySegment slice;
        try {
            slice = MEMORY.slice(gpa, length);
        } catch (GuestMemoryException refused) {
            assertThat(fitsOneRegion(gpa, length)).as("refused a valid range").isFalse();
            return;
        }
        assertThat(fitsOneRegion(gpa, length)).as("accepted an invalid range").isTrue();
        GuestRegion r = MEMORY.regionAt(gpa);
        assertThat(slice.byteSize()).isEqualTo(length);
        assertThat(slice.address()).isEqualTo(r.segment().address() + (gpa - r.guestPhysAddr()));
    }

    @Provide
    Arbitrary<Long> userAddresses() {
        return Arbitraries.oneOf(
                Arbitraries.longs(),
                Arbitraries.longs().between(LOW_UVA - 0x100, MID_UVA + 0x8100),
                Arbitraries.longs().between(HIGH_UVA - 0x100, -1L),
                Arbitraries.of(0L, LOW_UVA - 1, LOW_UVA, MID_UVA - 1, MID_UVA, MID_UVA + 0x7fff, MID_UVA + 0x8000,
                        HIGH_UVA, -1L));
    }

    /**
     * Front-end virtual ranges (how vhost-user gives ring addresses): a slice lies wholly inside one region at the
     * right offset and is the same bytes as the guest-physical slice userToGuest names, or it is refused.
     */
    @Property(tries = 5000)
    void userSliceIsInsideOneRegionOrRefused(@ForAll("userAddresses") long uva, @ForAll("lengths") long length) {
        GuestRegion expected = userRegionHolding(uva, length);
        Statistics.label("range").collect(userRangeKind(uva, length, expected));
        Statistics.label("range").coverage(coverage -> {
            for (String kind : List.of("empty", "wraps", "spans two regions", "in one region", "unmapped")) {
                coverage.check(kind).count(n -> n > 0);
            }
        });
        MemorySegment slice;
        try {
            slice = MEMORY.sliceUser(uva, length);
        } catch (GuestMemoryException refused) {
            assertThat(expected).as("refused a valid range").isNull();
            return;
        }
        assertThat(expected).as("accepted an invalid range").isNotNull();
        long offset = uva - expected.userAddr();
        assertThat(slice.byteSize()).isEqualTo(length);
        assertThat(slice.address()).isEqualTo(expected.segment().address() + offset);
        long gpa = MEMORY.userToGuest(uva);
        assertThat(gpa).isEqualTo(expected.guestPhysAddr() + offset);
        assertThat(MEMORY.slice(gpa, length).address()).isEqualTo(slice.address());
    }

    @Property(tries = 2000)
    void userToGuestTranslatesInsideItsRegionOrRefuses(@ForAll("userAddresses") long uva) {
        GuestRegion expected = userRegionHolding(uva, 1);
        long gpa;
        try {
            gpa = MEMORY.userToGuest(uva);
        } catch (GuestMemoryException refused) {
            assertThat(expected).as("refused a mapped address").isNull();
            return;
        }
        assertThat(expected).as("translated an unmapped address").isNotNull();
        assertThat(gpa).isEqualTo(expected.guestPhysAddr() + (uva - expected.userAddr()));
    }

    /** The region whose front-end virtual range holds all of {@code [uva, uva+length)}, or null (the oracle). */
    private static GuestRegion userRegionHolding(long uva, long length) {
        if (length <= 0) {
            return null;
        }
        for (GuestRegion r : MEMORY.regions()) {
            long off = uva - r.userAddr();
            if (Long.compareUnsigned(off, r.size()) < 0 && Long.compareUnsigned(length, r.size() - off) <= 0) {
                return r;
            }
        }
        return null;
    }

    private static String userRangeKind(long uva, long length, GuestRegion holding) {
        if (length <= 0) {
            return "empty";
        }
        long last = uva + length - 1;
        if (Long.compareUnsigned(last, uva) < 0) {
            return "wraps";
        }
        if (holding != null) {
            return "in one region";
        }
        GuestRegion first = userRegionHolding(uva, 1);
        GuestRegion end = userRegionHolding(last, 1);
        return first != null && end != null && first != end ? "spans two regions" : "unmapped";
    }

    @Property(tries = 2000)
    void contiguousNeverRunsPastItsRegion(@ForAll("addresses") long gpa, @ForAll("lengths") long length) {
        long n = MEMORY.contiguous(gpa, length);
        GuestRegion r = MEMORY.regionAt(gpa);
        if (r == null) {
            assertThat(n).isZero();
        } else {
            assertThat(Long.compareUnsigned(n, length)).isLessThanOrEqualTo(0);
            assertThat(fitsOneRegion(gpa, n) || n == 0).isTrue();
        }
    }

    private static boolean fitsOneRegion(long gpa, long length) {
        if (length <= 0) {
            return false;
        }
        for (GuestRegion r : MEMORY.regions()) {
            // BigInteger-free exact check: offset within region and length within what is left.
            long off = gpa - r.guestPhysAddr();
            if (Long.compareUnsigned(off, r.size()) < 0 && Long.compareUnsigned(length, r.size() - off) <= 0) {
                return true;
            }
        }
        return false;
    }

    @Test
    void rangeAcrossTwoAdjacentRegionsIsRefusedButSplittable() {
        long gpa = MID - 8;
        assertThatThrownBy(() -> MEMORY.slice(gpa, 16)).isInstanceOf(GuestMemoryException.class)
                .hasMessageContaining("0x" + Long.toHexString(gpa));
        assertThat(MEMORY.contiguous(gpa, 16)).isEqualTo(8);
        assertThat(MEMORY.contiguous(MID, 8)).isEqualTo(8);
    }

    @Test
    void wrappingAndEmptyRangesAreRefused() {
        assertThatThrownBy(() -> MEMORY.slice(HIGH + 0xff00, 0x200)).hasMessageContaining("wraps");
        assertThatThrownBy(() -> MEMORY.slice(0, 0)).hasMessageContaining("length 0");
        assertThatThrownBy(() -> MEMORY.slice(0, -1)).isInstanceOf(GuestMemoryException.class);
        assertThat(MEMORY.slice(HIGH, 0x10000).byteSize()).isEqualTo(0x10000);
    }

    @Test
    void userAddressesTranslate() {
        MemorySegment ring = MEMORY.sliceUser(0x7f00_0001_0010L, 16);
        assertThat(ring.address()).isEqualTo(MEMORY.regionAt(MID).segment().address() + 0x10);
        assertThat(MEMORY.userToGuest(0x7f00_0001_0010L)).isEqualTo(MID + 0x10);
        assertThatThrownBy(() -> MEMORY.sliceUser(0x7f00_0001_7ff8L, 16)).isInstanceOf(GuestMemoryException.class);
        assertThatThrownBy(() -> MEMORY.userToGuest(0x1234)).isInstanceOf(GuestMemoryException.class);
    }

    @Test
    void overlappingRegionsAreRefused() {
        assertThatThrownBy(() -> GuestMemory.of(
                GuestRegion.of(0x1000, 0, ARENA.allocate(0x2000)),
                GuestRegion.of(0x2fff, 0x10000, ARENA.allocate(0x10))))
                .hasMessageContaining("overlap");
        assertThatThrownBy(() -> GuestRegion.of(-0x10, 0, ARENA.allocate(0x20))).hasMessageContaining("wraps");
    }
}

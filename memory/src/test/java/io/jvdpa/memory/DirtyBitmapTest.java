package io.jvdpa.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

class DirtyBitmapTest {
    /** Marks land on exactly the pages the spec's pseudo-code names, whatever the log's alignment. */
    @Property
    void marksEveryTouchedPageAndNothingElse(@ForAll @IntRange(max = 7) int misalign,
                                             @ForAll @LongRange(max = 1 << 22) long gpa,
                                             @ForAll @LongRange(min = 1, max = 1 << 16) long length) {
        MemorySegment raw = Arena.ofAuto().allocate(256 + 8, 8);
        MemorySegment log = raw.asSlice(misalign, 256);
        new DirtyBitmap(log).mark(gpa, length);
        BitSet expected = new BitSet();
        for (long page = gpa >>> 12; page <= (gpa + length - 1) >>> 12 && page < 256 * 8; page++) {
            expected.set((int) page);
        }
        assertThat(BitSet.valueOf(log.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))).isEqualTo(expected);
        assertThat(raw.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0) == 0 || misalign == 0).isTrue();
    }
}

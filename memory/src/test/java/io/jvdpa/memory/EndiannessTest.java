package io.jvdpa.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class EndiannessTest {
    private final MemorySegment s = Arena.ofAuto().allocate(64, 8);

    /** Each accessor lays bytes out exactly as java.nio does for the same order, at any offset. */
    @Property
    void matchesNioByteOrder(@ForAll Endianness e, @ForAll long v, @ForAll @IntRange(max = 48) int off) {
        ByteBuffer bb = ByteBuffer.allocate(8).order(e.byteOrder());
        e.putU64(s, off, v);
        assertThat(s.asSlice(off, 8).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).isEqualTo(bb.putLong(0, v).array());
        assertThat(e.u64(s, off)).isEqualTo(v);
        e.putU32(s, off, v & 0xffff_ffffL);
        assertThat(e.u32(s, off)).isEqualTo(v & 0xffff_ffffL);
        assertThat(s.asSlice(off, 4).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
                .isEqualTo(ByteBuffer.allocate(4).order(e.byteOrder()).putInt(0, (int) v).array());
        e.putU16(s, off, (int) v & 0xffff);
        assertThat(e.u16(s, off)).isEqualTo((int) v & 0xffff);
    }

    @Property
    void orderedAccessorsAgreeWithPlainOnes(@ForAll Endianness e, @ForAll short v, @ForAll int w) {
        e.putU16Release(s, 2, v);
        assertThat(e.u16(s, 2)).isEqualTo(Short.toUnsignedInt(v));
        assertThat(e.u16Acquire(s, 2)).isEqualTo(Short.toUnsignedInt(v));
        e.putU32Release(s, 4, Integer.toUnsignedLong(w));
        assertThat(e.u32Acquire(s, 4)).isEqualTo(e.u32(s, 4)).isEqualTo(Integer.toUnsignedLong(w));
    }

    @Property
    void bigEndianStoresMostSignificantByteFirst(@ForAll short v) {
        Endianness.BIG.putU16(s, 0, v);
        assertThat(Endianness.u8(s, 0)).isEqualTo((v >> 8) & 0xff);
        assertThat(Endianness.nativeOrder().byteOrder()).isEqualTo(ByteOrder.nativeOrder());
    }
}

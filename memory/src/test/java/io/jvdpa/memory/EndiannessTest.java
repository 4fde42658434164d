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

    /**
     * The acquire and release accessors lay bytes out as java.nio does for the same order, and each reads what
     * the plain accessor of its width wrote, at any naturally aligned offset.
     */
    @Property
    void orderedAccessorsMatchNioAndThePlainOnes(@ForAll Endianness e, @ForAll byte b, @ForAll short v, @ForAll int w,
            @ForAll long x, @ForAll @IntRange(max = 6) int slot) {
        long at = 8L * slot;
        Endianness.putU8Release(s, at + 1, b);
        assertThat(bytes(at + 1, 1)).containsExactly(b);
        assertThat(Endianness.u8Acquire(s, at + 1)).isEqualTo(Endianness.u8(s, at + 1)).isEqualTo(Byte.toUnsignedInt(b));
        e.putU16Release(s, at + 2, v);
        assertThat(bytes(at + 2, 2)).isEqualTo(nio(e, 2).putShort(0, v).array());
        assertThat(e.u16Acquire(s, at + 2)).isEqualTo(e.u16(s, at + 2)).isEqualTo(Short.toUnsignedInt(v));
        e.putU32Release(s, at + 4, Integer.toUnsignedLong(w));
        assertThat(bytes(at + 4, 4)).isEqualTo(nio(e, 4).putInt(0, w).array());
        assertThat(e.u32Acquire(s, at + 4)).isEqualTo(e.u32(s, at + 4)).isEqualTo(Integer.toUnsignedLong(w));
        e.putU64Release(s, at, x);
        assertThat(bytes(at, 8)).isEqualTo(nio(e, 8).putLong(0, x).array());
        assertThat(e.u64Acquire(s, at)).isEqualTo(e.u64(s, at)).isEqualTo(x);

        // And the other way round: what a plain store wrote, an acquire load reads.
        e.putU64(s, at, ~x);
        assertThat(e.u64Acquire(s, at)).isEqualTo(~x);
        Endianness.putU8(s, at, b ^ 0x5a);
        assertThat(Endianness.u8Acquire(s, at)).isEqualTo((b ^ 0x5a) & 0xff);
    }

    private byte[] bytes(long offset, int length) {
        return s.asSlice(offset, length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    private static ByteBuffer nio(Endianness e, int length) {
        return ByteBuffer.allocate(length).order(e.byteOrder());
    }

    @Property
    void bigEndianStoresMostSignificantByteFirst(@ForAll short v) {
        Endianness.BIG.putU16(s, 0, v);
        assertThat(Endianness.u8(s, 0)).isEqualTo((v >> 8) & 0xff);
        assertThat(Endianness.nativeOrder().byteOrder()).isEqualTo(ByteOrder.nativeOrder());
    }
}

package io.jvdpa.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Byte order of a ring or structure in guest memory, with its accessors.
 *
 * <p>A modern (VERSION_1) driver is always little-endian; a legacy driver uses its own native order, so the
 * order is a per-device or per-ring value rather than a constant. Every access goes through the same
 * little-endian var handles and swaps for {@link #BIG}: the handles stay JIT constants and the swap is one
 * predictable branch.
 *
 * <p>Plain accessors tolerate unaligned offsets (descriptor tables may be anywhere a hostile driver puts
 * them). Acquire and release accessors are for the shared ring indices and flags; they need natural
 * alignment, which the rings check when they are set up, and they are single accesses, never split: a peer
 * polling the other side must never see a half-written index.
 */
public enum Endianness {
    LITTLE,
    BIG;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U8_ALIGNED = ValueLayout.JAVA_BYTE.varHandle();
    private static final VarHandle U16_ALIGNED =
            ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle U32_ALIGNED =
            ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle U64_ALIGNED =
            ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    /** The order of this JVM's platform, which is the guest's order for a same-architecture legacy guest. */
    public static Endianness nativeOrder() {
        return ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN ? BIG : LITTLE;
    }

    public ByteOrder byteOrder() {
        return this == BIG ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
    }

    public static int u8(MemorySegment s, long offset) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, offset));
    }

    public static void putU8(MemorySegment s, long offset, int value) {
        s.set(ValueLayout.JAVA_BYTE, offset, (byte) value);
    }

    public int u16(MemorySegment s, long offset) {
        return Short.toUnsignedInt(order16(s.get(U16, offset)));
    }

    public void putU16(MemorySegment s, long offset, int value) {
        s.set(U16, offset, order16((short) value));
    }

    public long u32(MemorySegment s, long offset) {
        return Integer.toUnsignedLong(order32(s.get(U32, offset)));
    }

    public void putU32(MemorySegment s, long offset, long value) {
        s.set(U32, offset, order32((int) value));
    }

    public long u64(MemorySegment s, long offset) {
        return order64(s.get(U64, offset));
    }

    public void putU64(MemorySegment s, long offset, long value) {
        s.set(U64, offset, order64(value));
    }

    /** Reads a byte with acquire ordering; a byte has no order, hence static like {@link #u8}. */
    public static int u8Acquire(MemorySegment s, long offset) {
        return Byte.toUnsignedInt((byte) U8_ALIGNED.getAcquire(s, offset));
    }

    public static void putU8Release(MemorySegment s, long offset, int value) {
        U8_ALIGNED.setRelease(s, offset, (byte) value);
    }

    /** Reads a 16-bit field with acquire ordering: later reads cannot move before it. */
    public int u16Acquire(MemorySegment s, long offset) {
        return Short.toUnsignedInt(order16((short) U16_ALIGNED.getAcquire(s, offset)));
    }

    /** Writes a 16-bit field with release ordering: earlier writes are visible before it. */
    public void putU16Release(MemorySegment s, long offset, int value) {
        U16_ALIGNED.setRelease(s, offset, order16((short) value));
    }

    public long u32Acquire(MemorySegment s, long offset) {
        return Integer.toUnsignedLong(order32((int) U32_ALIGNED.getAcquire(s, offset)));
    }

    public void putU32Release(MemorySegment s, long offset, long value) {
        U32_ALIGNED.setRelease(s, offset, order32((int) value));
    }

    public long u64Acquire(MemorySegment s, long offset) {
        return order64((long) U64_ALIGNED.getAcquire(s, offset));
    }

    public void putU64Release(MemorySegment s, long offset, long value) {
        U64_ALIGNED.setRelease(s, offset, order64(value));
    }

    /** A 16-bit read that is a single access but orders nothing (for event indices read after a fence). */
    public int u16Opaque(MemorySegment s, long offset) {
        return Short.toUnsignedInt(order16((short) U16_ALIGNED.getOpaque(s, offset)));
    }

    public void putU16Opaque(MemorySegment s, long offset, int value) {
        U16_ALIGNED.setOpaque(s, offset, order16((short) value));
    }

    /** Swaps a 16-bit value between this order and little-endian (its own inverse). */
    public short order16(short v) {
        return this == BIG ? Short.reverseBytes(v) : v;
    }

    public int order32(int v) {
        return this == BIG ? Integer.reverseBytes(v) : v;
    }

    public long order64(long v) {
        return this == BIG ? Long.reverseBytes(v) : v;
    }
}

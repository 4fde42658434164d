package io.jvdpa.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * One Ethernet frame and what its virtio-net header says about it (checksum and segmentation offload), in native
 * memory so it can go to a TAP device or into guest memory with one copy. Packets are allocated once and reused
 * for every frame: a packet either owns its buffer ({@link #allocate}) or is a view onto someone else's
 * ({@link #view}), such as a slot of a {@link PacketQueue}.
 *
 * <p>The header fields are plain host integers here; the receive and transmit paths convert them from and to
 * the driver's byte order.
 */
public final class Packet {
    /** The most a frame with segmentation offload can be: 64 KiB of IP plus an Ethernet and a VLAN header. */
    public static final int MAX_FRAME = 65_536 + 18;
    /** Ethernet header: destination, source, EtherType. */
    public static final int ETH_HEADER = 14;

    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private MemorySegment segment;
    private long offset;
    private int length;
    private int flags;
    private int gsoType;
    private int hdrLen;
    private int gsoSize;
    private int csumStart;
    private int csumOffset;

    private Packet(MemorySegment segment) {
        this.segment = segment;
    }

    /** A packet with its own native buffer of {@code capacity} bytes. */
    public static Packet allocate(int capacity) {
        return new Packet(Arena.ofAuto().allocate(capacity, 64));
    }

    /** A packet that will look at other buffers through {@link #view}. */
    public static Packet view() {
        return new Packet(MemorySegment.NULL);
    }

    /** Points this packet at {@code length} bytes of {@code base} from {@code at}; the header fields are cleared. */
    public Packet view(MemorySegment base, long at, int frameLength) {
        this.segment = base;
        this.offset = at;
        this.length = frameLength;
        clearHeader();
        return this;
    }

    /** The buffer; the frame is {@link #length()} bytes from {@link #offset()}. */
    public MemorySegment segment() {
        return segment;
    }

    public long offset() {
        return offset;
    }

    public int length() {
        return length;
    }

    /** Bytes the frame may grow to from its offset. */
    public int capacity() {
        return (int) Math.min(Integer.MAX_VALUE, segment.byteSize() - offset);
    }

    /** Starts a new frame at {@code at} of the buffer (e.g. after a TAP device's header) of {@code frameLength} bytes. */
    public Packet reset(long at, int frameLength) {
        if (at < 0 || frameLength < 0 || at + frameLength > segment.byteSize()) {
            throw new IndexOutOfBoundsException("frame [" + at + ", +" + frameLength + ") outside a buffer of "
                    + segment.byteSize() + " bytes");
        }
        this.offset = at;
        this.length = frameLength;
        clearHeader();
        return this;
    }

    public void setLength(int frameLength) {
        if (frameLength < 0 || frameLength > capacity()) {
            throw new IndexOutOfBoundsException("frame length " + frameLength + " exceeds capacity " + capacity());
        }
        this.length = frameLength;
    }

    /** Copies {@code other}'s frame and header fields into this packet's buffer; false if it does not fit. */
    public boolean copyFrom(Packet other) {
        if (other.length > segment.byteSize()) {
            return false;
        }
        MemorySegment.copy(other.segment, other.offset, segment, 0, other.length);
        offset = 0;
        length = other.length;
        copyHeaderFrom(other);
        return true;
    }

    public void copyHeaderFrom(Packet other) {
        flags = other.flags;
        gsoType = other.gsoType;
        hdrLen = other.hdrLen;
        gsoSize = other.gsoSize;
        csumStart = other.csumStart;
        csumOffset = other.csumOffset;
    }

    public void clearHeader() {
        flags = 0;
        gsoType = NetHeader.GSO_NONE;
        hdrLen = 0;
        gsoSize = 0;
        csumStart = 0;
        csumOffset = 0;
    }

    public void setHeader(int newFlags, int newGsoType, int newHdrLen, int newGsoSize, int newCsumStart,
                          int newCsumOffset) {
        flags = newFlags;
        gsoType = newGsoType;
        hdrLen = newHdrLen;
        gsoSize = newGsoSize;
        csumStart = newCsumStart;
        csumOffset = newCsumOffset;
    }

    public int flags() {
        return flags;
    }

    public void setFlags(int newFlags) {
        flags = newFlags;
    }

    public int gsoType() {
        return gsoType;
    }

    public int hdrLen() {
        return hdrLen;
    }

    public int gsoSize() {
        return gsoSize;
    }

    public int csumStart() {
        return csumStart;
    }

    public int csumOffset() {
        return csumOffset;
    }

    // ---- Ethernet fields ------------------------------------------------------------------------------

    public long destination() {
        return MacAddress.get(segment, offset);
    }

    public long source() {
        return MacAddress.get(segment, offset + 6);
    }

    public void setDestination(long mac) {
        MacAddress.put(segment, offset, mac);
    }

    public void setSource(long mac) {
        MacAddress.put(segment, offset + 6, mac);
    }

    /** The EtherType, or 0 for a frame too short to have one. */
    public int etherType() {
        return length < ETH_HEADER ? 0 : u16(12);
    }

    /** A big-endian (network order) 16-bit field at {@code at} bytes into the frame. */
    public int u16(int at) {
        return segment.get(BE16, offset + at) & 0xFFFF;
    }

    public void putU16(int at, int value) {
        segment.set(BE16, offset + at, (short) value);
    }

    public int u8(int at) {
        return segment.get(ValueLayout.JAVA_BYTE, offset + at) & 0xFF;
    }

    public void putU8(int at, int value) {
        segment.set(ValueLayout.JAVA_BYTE, offset + at, (byte) value);
    }

    /** The frame's bytes, for tests and diagnostics (allocates). */
    public byte[] toArray() {
        return segment.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE);
    }

    @Override
    public String toString() {
        return "Packet[" + length + " bytes, " + MacAddress.format(length >= 12 ? source() : 0) + " -> "
                + MacAddress.format(length >= 6 ? destination() : 0) + ", type 0x" + Integer.toHexString(etherType())
                + ", flags " + flags + ", gso " + gsoType + "]";
    }
}

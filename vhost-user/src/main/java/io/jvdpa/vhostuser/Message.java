package io.jvdpa.vhostuser;

import io.jvdpa.sys.Fd;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * One vhost-user message: the 12-byte header (request, flags, size), the payload, and the fds that came with
 * it. All numbers are in the host's native order, as the spec says. A connection reuses one instance.
 */
public final class Message {
    public static final int HEADER_SIZE = 12;
    /** Larger than any payload the spec defines (a full config space is 12 + 256 bytes). */
    public static final int MAX_PAYLOAD = 4096;
    public static final int MAX_FDS = 8;

    public static final int VERSION = 0x1;
    public static final int FLAG_REPLY = 1 << 2;
    public static final int FLAG_NEED_REPLY = 1 << 3;

    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    /** Header followed by payload, so a message goes out in one sendmsg. */
    final MemorySegment buffer = Arena.ofAuto().allocate(HEADER_SIZE + MAX_PAYLOAD, 8);
    final MemorySegment payload = buffer.asSlice(HEADER_SIZE);
    final List<Fd> fds = new ArrayList<>(MAX_FDS);

    public int requestId() {
        return buffer.get(U32, 0);
    }

    public int flags() {
        return buffer.get(U32, 4);
    }

    public int size() {
        return buffer.get(U32, 8);
    }

    public boolean needsReply() {
        return (flags() & FLAG_NEED_REPLY) != 0;
    }

    /** Starts a message with an empty payload. */
    public Message begin(int requestId, int flags) {
        buffer.set(U32, 0, requestId);
        buffer.set(U32, 4, flags | VERSION);
        buffer.set(U32, 8, 0);
        fds.clear();
        return this;
    }

    public Message size(int size) {
        buffer.set(U32, 8, size);
        return this;
    }

    public long u64(long offset) {
        return payload.get(U64, offset);
    }

    public int u32(long offset) {
        return payload.get(U32, offset);
    }

    public int u16(long offset) {
        return Short.toUnsignedInt(payload.get(U16, offset));
    }

    public Message putU64(long offset, long v) {
        payload.set(U64, offset, v);
        return this;
    }

    public Message putU32(long offset, int v) {
        payload.set(U32, offset, v);
        return this;
    }

    public Message putU16(long offset, int v) {
        payload.set(U16, offset, (short) v);
        return this;
    }

    public MemorySegment payload() {
        return payload;
    }

    /** The fds received with this message; whoever takes one out owns it, the rest are closed by {@link #closeFds()}. */
    public List<Fd> fds() {
        return fds;
    }

    public void closeFds() {
        for (Fd fd : fds) {
            fd.close();
        }
        fds.clear();
    }

    /** A single-u64 message: the common payload. */
    public Message u64Payload(long v) {
        return putU64(0, v).size(8);
    }

    public VringState vringState() {
        return new VringState(u32(0), Integer.toUnsignedLong(u32(4)));
    }

    public Message vringState(int index, long num) {
        return putU32(0, index).putU32(4, (int) num).size(8);
    }

    public VringAddr vringAddr() {
        return new VringAddr(u32(0), u32(4), u64(8), u64(16), u64(24), u64(32));
    }

    /** Payload offsets of VhostUserMemoryRegion fields, 32 bytes each. */
    public MemoryRegionSpec region(long offset) {
        return new MemoryRegionSpec(u64(offset), u64(offset + 8), u64(offset + 16), u64(offset + 24));
    }

    public Message putRegion(long offset, MemoryRegionSpec r) {
        return putU64(offset, r.guestPhysAddr()).putU64(offset + 8, r.size()).putU64(offset + 16, r.userAddr())
                .putU64(offset + 24, r.mmapOffset());
    }

    public InflightSpec inflight() {
        return new InflightSpec(u64(0), u64(8), u16(16), u16(18));
    }

    public Message putInflight(InflightSpec s) {
        return putU64(0, s.mmapSize()).putU64(8, s.mmapOffset()).putU16(16, s.numQueues()).putU16(18, s.queueSize())
                .size(20);
    }

    /** A vring state description: a ring index and a number (size, base, endianness, enable). */
    public record VringState(int index, long num) {}

    @Override
    public String toString() {
        Request r = Request.of(requestId());
        return (r == null ? "request " + requestId() : r.name()) + " flags=0x" + Integer.toHexString(flags())
                + " size=" + size() + (fds.isEmpty() ? "" : " fds=" + fds.size());
    }
}

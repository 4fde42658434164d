package io.jvdpa.virtqueue;

import io.jvdpa.memory.Endianness;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.BufferUnderflowException;

/**
 * Sequential reads over a chain's device-readable segments, across segment boundaries. Reads that fit in the
 * current segment go straight to guest memory; a value split between two segments is assembled byte by byte.
 * Reading past the readable bytes throws {@link BufferUnderflowException} and moves nothing.
 */
public final class ChainReader {
    private final DescriptorChain chain;
    private int segment;
    private long position;
    private long consumed;

    ChainReader(DescriptorChain chain) {
        this.chain = chain;
    }

    /** Back to the first readable byte. */
    public void rewind() {
        segment = 0;
        position = 0;
        consumed = 0;
    }

    public long remaining() {
        return chain.readableBytes() - consumed;
    }

    /** Bytes read or skipped so far. */
    public long position() {
        return consumed;
    }

    public int readU8() {
        need(1);
        int v = Endianness.u8(chain.bases()[segment], chain.offsets()[segment] + position);
        advance(1);
        return v;
    }

    public int readU16(Endianness order) {
        need(2);
        if (fits(2)) {
            int v = order.u16(chain.bases()[segment], chain.offsets()[segment] + position);
            advance(2);
            return v;
        }
        return (int) assemble(2, order);
    }

    public long readU32(Endianness order) {
        need(4);
        if (fits(4)) {
            long v = order.u32(chain.bases()[segment], chain.offsets()[segment] + position);
            advance(4);
            return v;
        }
        return assemble(4, order);
    }

    public long readU64(Endianness order) {
        need(8);
        if (fits(8)) {
            long v = order.u64(chain.bases()[segment], chain.offsets()[segment] + position);
            advance(8);
            return v;
        }
        return assemble(8, order);
    }

    /** Copies the next {@code length} bytes to {@code dst} at {@code dstOffset}. */
    public void read(MemorySegment dst, long dstOffset, long length) {
        need(length);
        long done = 0;
        while (done < length) {
            long piece = Math.min(length - done, chain.lengths()[segment] - position);
            MemorySegment.copy(chain.bases()[segment], chain.offsets()[segment] + position, dst, dstOffset + done, piece);
            advance(piece);
            done += piece;
        }
    }

    public void read(byte[] dst, int dstOffset, int length) {
        need(length);
        int done = 0;
        while (done < length) {
            int piece = (int) Math.min(length - done, chain.lengths()[segment] - position);
            MemorySegment.copy(chain.bases()[segment], ValueLayout.JAVA_BYTE, chain.offsets()[segment] + position,
                    dst, dstOffset + done, piece);
            advance(piece);
            done += piece;
        }
    }

    public void skip(long length) {
        need(length);
        long left = length;
        while (left > 0) {
            long piece = Math.min(left, chain.lengths()[segment] - position);
            advance(piece);
            left -= piece;
        }
    }

    private boolean fits(int n) {
        return position + n <= chain.lengths()[segment];
    }

    private void need(long n) {
        if (n < 0 || n > remaining()) {
            throw new BufferUnderflowException();
        }
    }

    /** A value that straddles segments: gather its bytes in little-endian order, then apply the field's order. */
    private long assemble(int n, Endianness order) {
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) readU8() << (8 * i);
        }
        if (order == Endianness.BIG) {
            v = Long.reverseBytes(v) >>> (64 - 8 * n);
        }
        return v;
    }

    private void advance(long n) {
        position += n;
        consumed += n;
        int last = chain.readableSegments();
        while (segment < last && position == chain.lengths()[segment]) {
            segment++;
            position = 0;
        }
    }
}

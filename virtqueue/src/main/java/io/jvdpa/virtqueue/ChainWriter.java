package io.jvdpa.virtqueue;

import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.BufferOverflowException;

/**
 * Sequential writes over a chain's device-writable segments, across segment boundaries. It counts the bytes
 * written (the length the used entry reports) and, while the front-end migrates the guest, marks every written
 * range in the dirty log. Writing past the writable bytes throws {@link BufferOverflowException} and writes
 * nothing.
 */
public final class ChainWriter {
    private final DescriptorChain chain;
    private int segment;
    private long position;
    private long written;
    private long highWater;

    ChainWriter(DescriptorChain chain) {
        this.chain = chain;
    }

    /** Back to the first writable byte; the written count starts again at zero. */
    public void rewind() {
        segment = chain.firstWritable();
        position = 0;
        written = 0;
        highWater = 0;
    }

    public long remaining() {
        return chain.writableBytes() - written;
    }

    /** The furthest byte written so far, counted from the start of the writable part. */
    public long bytesWritten() {
        return highWater;
    }

    public void writeU8(int value) {
        need(1);
        Endianness.putU8(chain.bases()[segment], chain.offsets()[segment] + position, value);
        advance(1, true);
    }

    public void writeU16(int value, Endianness order) {
        need(2);
        if (fits(2)) {
            order.putU16(chain.bases()[segment], chain.offsets()[segment] + position, value);
            advance(2, true);
        } else {
            scatter(value, 2, order);
        }
    }

    public void writeU32(long value, Endianness order) {
        need(4);
        if (fits(4)) {
            order.putU32(chain.bases()[segment], chain.offsets()[segment] + position, value);
            advance(4, true);
        } else {
            scatter(value, 4, order);
        }
    }

    public void writeU64(long value, Endianness order) {
        need(8);
        if (fits(8)) {
            order.putU64(chain.bases()[segment], chain.offsets()[segment] + position, value);
            advance(8, true);
        } else {
            scatter(value, 8, order);
        }
    }

    /** Copies {@code length} bytes from {@code src} at {@code srcOffset} into the buffer. */
    public void write(MemorySegment src, long srcOffset, long length) {
        need(length);
        long done = 0;
        while (done < length) {
            long piece = Math.min(length - done, chain.lengths()[segment] - position);
            MemorySegment.copy(src, srcOffset + done, chain.bases()[segment], chain.offsets()[segment] + position, piece);
            advance(piece, true);
            done += piece;
        }
    }

    public void write(byte[] src, int srcOffset, int length) {
        need(length);
        int done = 0;
        while (done < length) {
            int piece = (int) Math.min(length - done, chain.lengths()[segment] - position);
            MemorySegment.copy(src, srcOffset + done, chain.bases()[segment], ValueLayout.JAVA_BYTE,
                    chain.offsets()[segment] + position, piece);
            advance(piece, true);
            done += piece;
        }
    }

    /**
     * Moves on by {@code length} bytes that the caller filled straight through the segments (for example with
     * readv into {@link DescriptorChain#segmentBase}); they count as written and are logged dirty.
     */
    public void advance(long length) {
        moveOn(length, true);
    }

    /** Leaves {@code length} bytes as they are; they still count towards the used length if followed by writes. */
    public void skip(long length) {
        moveOn(length, false);
    }

    private void moveOn(long length, boolean dirty) {
        need(length);
        long left = length;
        while (left > 0) {
            long piece = Math.min(left, chain.lengths()[segment] - position);
            advance(piece, dirty);
            left -= piece;
        }
    }

    private boolean fits(int n) {
        return position + n <= chain.lengths()[segment];
    }

    private void need(long n) {
        if (n < 0 || n > remaining()) {
            throw new BufferOverflowException();
        }
    }

    /** A value that straddles segments: convert to little-endian bytes in the field's order, write one by one. */
    private void scatter(long value, int n, Endianness order) {
        long v = order == Endianness.BIG ? Long.reverseBytes(value) >>> (64 - 8 * n) : value;
        for (int i = 0; i < n; i++) {
            writeU8((int) (v >>> (8 * i)) & 0xFF);
        }
    }

    private void advance(long n, boolean dirty) {
        if (dirty) {
            DirtyLog log = chain.log();
            if (log.enabled()) {
                log.mark(chain.addresses()[segment] + position, n);
            }
        }
        position += n;
        written += n;
        if (dirty && written > highWater) {
            highWater = written;
        }
        int last = chain.segmentCount();
        while (segment < last && position == chain.lengths()[segment]) {
            segment++;
            position = 0;
        }
    }
}

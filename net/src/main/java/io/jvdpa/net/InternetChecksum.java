package io.jvdpa.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** The Internet checksum (RFC 1071) over native memory, for IP, ICMP and completing partial TCP/UDP checksums. */
public final class InternetChecksum {
    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private InternetChecksum() {}

    /** Adds the 16-bit big-endian words of {@code [offset, offset+length)} to {@code sum} (an odd byte is padded). */
    public static long add(MemorySegment s, long offset, int length, long sum) {
        long i = offset;
        long end = offset + length;
        while (end - i >= 4) {
            sum += s.get(BE32, i) & 0xFFFF_FFFFL;
            i += 4;
        }
        if (end - i >= 2) {
            sum += s.get(BE16, i) & 0xFFFF;
            i += 2;
        }
        if (i < end) {
            sum += (s.get(ValueLayout.JAVA_BYTE, i) & 0xFF) << 8;
        }
        return sum;
    }

    /** Folds a running sum to 16 bits and complements it: the value that goes into a checksum field. */
    public static int finish(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    /** The checksum of {@code [offset, offset+length)}. */
    public static int of(MemorySegment s, long offset, int length) {
        return finish(add(s, offset, length, 0));
    }

    /**
     * Completes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): sums from csum_start to the end of the frame,
     * where the field at csum_start + csum_offset holds the pseudo-header sum the driver put there, and stores
     * the result in that field. Returns false, changing nothing, if the offsets point outside the frame.
     */
    public static boolean completePartial(Packet p) {
        int start = p.csumStart();
        int field = start + p.csumOffset();
        if (start < 0 || start >= p.length() || field < start || field + 2 > p.length()) {
            return false;
        }
        int sum = finish(add(p.segment(), p.offset() + start, p.length() - start, 0));
        // A zero result is sent as 0xFFFF: the same value in ones' complement, and UDP's "no checksum" is zero.
        p.putU16(field, sum == 0 ? 0xFFFF : sum);
        return true;
    }
}

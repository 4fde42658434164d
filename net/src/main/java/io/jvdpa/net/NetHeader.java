package io.jvdpa.net;

import io.jvdpa.device.VirtioFeatures;
import io.jvdpa.memory.Endianness;
import java.lang.foreign.MemorySegment;

/**
 * struct virtio_net_hdr (VIRTIO 1.2 §5.1.6): the header before every frame on the receive and transmit queues.
 *
 * <pre>
 * u8 flags; u8 gso_type; u16 hdr_len; u16 gso_size; u16 csum_start; u16 csum_offset; [u16 num_buffers]
 * </pre>
 * The 16-bit fields are little-endian for a VERSION_1 driver and in the guest's native order for a legacy one.
 * num_buffers is there with VERSION_1 or MRG_RXBUF; without either the header is 10 bytes (§5.1.6.1 legacy).
 */
public final class NetHeader {
    public static final int FLAGS = 0;
    public static final int GSO_TYPE = 1;
    public static final int HDR_LEN = 2;
    public static final int GSO_SIZE = 4;
    public static final int CSUM_START = 6;
    public static final int CSUM_OFFSET = 8;
    public static final int NUM_BUFFERS = 10;

    /** The header without num_buffers: a legacy driver without MRG_RXBUF. */
    public static final int LEGACY_SIZE = 10;
    /** The header with num_buffers: VERSION_1, or MRG_RXBUF. */
    public static final int SIZE = 12;

    public static final int F_NEEDS_CSUM = 1;
    public static final int F_DATA_VALID = 2;
    public static final int F_RSC_INFO = 4;

    public static final int GSO_NONE = 0;
    public static final int GSO_TCPV4 = 1;
    public static final int GSO_UDP = 3;
    public static final int GSO_TCPV6 = 4;
    public static final int GSO_ECN = 0x80;

    private NetHeader() {}

    /**
     * Writes a header of {@code size} bytes at {@code at}, the 16-bit fields in {@code order}: as one 8-byte store
     * and one of 4 (or 2) rather than field by field, since a receive buffer's header line is usually still in the
     * driver's cache and every store into it waits for the line.
     */
    public static void put(MemorySegment s, long at, Endianness order, int size, int flags, int gsoType, int hdrLen,
                           int gsoSize, int csumStart, int csumOffset, int numBuffers) {
        long head = (flags & 0xFF) | (gsoType & 0xFF) << 8 | field(order, hdrLen) << 16 | field(order, gsoSize) << 32
                | field(order, csumStart) << 48;
        Endianness.LITTLE.putU64(s, at + FLAGS, head);
        if (size == SIZE) {
            Endianness.LITTLE.putU32(s, at + CSUM_OFFSET, field(order, csumOffset) | field(order, numBuffers) << 16);
        } else {
            Endianness.LITTLE.putU16(s, at + CSUM_OFFSET, (int) field(order, csumOffset));
        }
    }

    /** A 16-bit field's bytes in {@code order}, as a little-endian store lays them down. */
    private static long field(Endianness order, int value) {
        return order.order16((short) value) & 0xFFFFL;
    }

    /** The header length the negotiated features imply. */
    public static int size(long ackedFeatures) {
        return VirtioFeatures.has(ackedFeatures, VirtioFeatures.VERSION_1)
                || VirtioNetFeatures.has(ackedFeatures, VirtioNetFeatures.MRG_RXBUF) ? SIZE : LEGACY_SIZE;
    }
}

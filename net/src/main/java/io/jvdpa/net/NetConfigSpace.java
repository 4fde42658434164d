package io.jvdpa.net;

import io.jvdpa.memory.Endianness;
import java.lang.foreign.MemorySegment;

/**
 * struct virtio_net_config (VIRTIO 1.2 §5.1.4) as far as this device fills it:
 * <pre>
 * u8 mac[6]; u16 status; u16 max_virtqueue_pairs; u16 mtu;
 * </pre>
 * The 16-bit fields are in the driver's byte order: little-endian for VERSION_1, guest-native for legacy.
 */
final class NetConfigSpace {
    static final int MAC = 0;
    static final int STATUS = 6;
    static final int MAX_VIRTQUEUE_PAIRS = 8;
    static final int MTU = 10;
    static final int SIZE = 12;

    static final int S_LINK_UP = 1;
    static final int S_ANNOUNCE = 2;

    private NetConfigSpace() {}

    static byte[] build(long mac, int status, int maxPairs, int mtu, Endianness order) {
        byte[] bytes = new byte[SIZE];
        MemorySegment c = MemorySegment.ofArray(bytes);
        MacAddress.put(c, MAC, mac);
        order.putU16(c, STATUS, status);
        order.putU16(c, MAX_VIRTQUEUE_PAIRS, maxPairs);
        order.putU16(c, MTU, mtu);
        return bytes;
    }
}

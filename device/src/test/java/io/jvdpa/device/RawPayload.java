package io.jvdpa.device;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Payloads of vhost-user requests sent raw, for requests the front-end would never build itself. */
final class RawPayload {
    private RawPayload() {}

    /** A u64 payload (features, a vring's fd index and flags, ...). */
    static byte[] u64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putLong(v).array();
    }

    /** A vring state: the queue index and a number (size, base or endianness). */
    static byte[] state(int index, int num) {
        return ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putInt(index).putInt(num).array();
    }
}

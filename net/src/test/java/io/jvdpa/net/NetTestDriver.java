package io.jvdpa.net;

import io.jvdpa.memory.Endianness;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.vhostuser.VhostUserException;
import io.jvdpa.virtqueue.UsedBuffer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeoutException;

/**
 * A virtio-net driver in a few calls, over jvdpa's own front-end: negotiates, sets up the rings, posts receive
 * buffers (with the header in one descriptor of its own, or not), sends frames, runs control commands, and reads
 * what the device wrote, decoding the header in the driver's byte order.
 */
final class NetTestDriver implements AutoCloseable {
    static final long VERSION_1 = 1L << 32;
    static final long RING_PACKED = 1L << 34;
    static final long ANY_LAYOUT = 1L << 27;
    static final long EVENT_IDX = 1L << 29;
    static final long INDIRECT = 1L << 28;
    private static final long ALL_PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.values());
    private static final Duration WAIT = Duration.ofSeconds(5);

    /** A frame as the driver received it, with its header decoded. */
    record Received(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset, int numBuffers,
                    int buffers, byte[] frame, byte[] rawHeader) {}

    final DriverSession session;
    final Endianness order;
    final long features;
    final int hdrSize;
    final DriverRing[] rx;
    final DriverRing[] tx;
    final DriverRing ctrl;
    private final Map<Integer, long[]> posted = new HashMap<>();
    private final UsedBuffer used = new UsedBuffer();
    private int nextToken;

    private NetTestDriver(DriverSession session, Endianness order, int pairs, int queueSize)
            throws IOException, VhostUserException {
        this.session = session;
        this.features = session.features();
        this.order = session.legacy() ? order : Endianness.LITTLE;
        this.hdrSize = NetHeader.size(features);
        this.rx = new DriverRing[pairs];
        this.tx = new DriverRing[pairs];
        for (int p = 0; p < pairs; p++) {
            rx[p] = session.setUpRing(2 * p, queueSize, order);
            tx[p] = session.setUpRing(2 * p + 1, queueSize, order);
        }
        this.ctrl = has(VirtioNetFeatures.CTRL_VQ) ? session.setUpRing(controlIndex(), queueSize, order) : null;
    }

    /**
     * The control queue comes after max_virtqueue_pairs pairs with MQ. A legacy big-endian driver can read that
     * field right only once the device knows its byte order, i.e. after the first ring told it.
     */
    private int controlIndex() throws IOException, VhostUserException {
        if (!has(VirtioNetFeatures.MQ)) {
            return 2;
        }
        byte[] config = session.frontend().getConfig(0, NetConfigSpace.SIZE);
        return 2 * this.order.u16(MemorySegment.ofArray(config), NetConfigSpace.MAX_VIRTQUEUE_PAIRS);
    }

    /**
     * Connects and negotiates {@code wanted} (masked by what the device offers), then sets up {@code pairs}
     * queue pairs and, if CTRL_VQ was negotiated, the control queue.
     */
    static NetTestDriver start(Path socket, long wanted, Endianness order, int pairs) throws Exception {
        DriverSession s = DriverSession.connect(socket, 64L << 20);
        try {
            s.negotiate(wanted, ALL_PROTOCOL);
            return new NetTestDriver(s, order, pairs, 256);
        } catch (Exception e) {
            s.close();
            throw e;
        }
    }

    boolean has(int feature) {
        return VirtioNetFeatures.has(features, feature);
    }

    private long alloc(int size) {
        long gpa = session.ram().allocate(size, 8);
        session.ram().at(gpa, size).fill((byte) 0x5A);
        return gpa;
    }

    /** Posts {@code count} receive buffers of {@code size} bytes; {@code splitHeader} puts the header alone. */
    void postRx(int pair, int count, int size, boolean splitHeader) throws Exception {
        for (int i = 0; i < count; i++) {
            int token = nextToken++;
            long[] addrs;
            int[] lens;
            if (splitHeader) {
                addrs = new long[] {alloc(hdrSize), alloc(size - hdrSize)};
                lens = new int[] {hdrSize, size - hdrSize};
            } else {
                addrs = new long[] {alloc(size)};
                lens = new int[] {size};
            }
            if (!rx[pair].queue().post(addrs, lens, 0, addrs.length, token)) {
                throw new IllegalStateException("receive ring full");
            }
            long[] record = new long[addrs.length * 2];
            for (int k = 0; k < addrs.length; k++) {
                record[2 * k] = addrs[k];
                record[2 * k + 1] = lens[k];
            }
            posted.put(token, record);
        }
        rx[pair].publishAndKick();
    }

    /** Reaps one used receive buffer and returns the bytes the device wrote into it; null after {@code wait}. */
    private byte[] reapRx(int pair, Duration wait) throws InterruptedException {
        try {
            rx[pair].awaitUsed(used, wait);
        } catch (TimeoutException e) {
            return null;
        }
        long[] record = posted.remove(used.token());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long left = used.length();
        for (int k = 0; k < record.length && left > 0; k += 2) {
            int n = (int) Math.min(left, record[k + 1]);
            out.writeBytes(session.ram().at(record[k], n).toArray(ValueLayout.JAVA_BYTE));
            left -= n;
        }
        return out.toByteArray();
    }

    private byte[] reapRx(int pair) throws InterruptedException {
        byte[] b = reapRx(pair, WAIT);
        if (b == null) {
            throw new AssertionError("no frame arrived on receive queue " + pair + " within " + WAIT);
        }
        return b;
    }

    /** The bytes the device wrote into the next used receive buffer, header included. */
    byte[] receiveRaw(int pair) throws InterruptedException {
        return reapRx(pair);
    }

    /** The next frame, or null if none comes within {@code wait}. */
    Received poll(int pair, Duration wait) throws InterruptedException {
        byte[] first = reapRx(pair, wait);
        return first == null ? null : decode(pair, first);
    }

    /** The next frame on receive queue {@code pair}, merged over num_buffers buffers when MRG_RXBUF is on. */
    Received receive(int pair) throws InterruptedException {
        return decode(pair, reapRx(pair));
    }

    private Received decode(int pair, byte[] first) throws InterruptedException {
        if (first.length < hdrSize) {
            throw new AssertionError("used buffer of " + first.length + " bytes, shorter than the header");
        }
        MemorySegment h = MemorySegment.ofArray(first);
        int numBuffers = hdrSize == NetHeader.SIZE ? order.u16(h, NetHeader.NUM_BUFFERS) : 1;
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.write(first, hdrSize, first.length - hdrSize);
        int buffers = 1;
        if (has(VirtioNetFeatures.MRG_RXBUF)) {
            for (; buffers < numBuffers; buffers++) {
                frame.writeBytes(reapRx(pair));
            }
        }
        return new Received(Endianness.u8(h, 0), Endianness.u8(h, 1), order.u16(h, 2), order.u16(h, 4),
                order.u16(h, 6), order.u16(h, 8), numBuffers, buffers, frame.toByteArray(),
                java.util.Arrays.copyOf(first, hdrSize));
    }

    /** A virtio_net_hdr in this driver's byte order and size. */
    byte[] header(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset) {
        byte[] b = new byte[hdrSize];
        MemorySegment s = MemorySegment.ofArray(b);
        Endianness.putU8(s, 0, flags);
        Endianness.putU8(s, 1, gsoType);
        order.putU16(s, 2, hdrLen);
        order.putU16(s, 4, gsoSize);
        order.putU16(s, 6, csumStart);
        order.putU16(s, 8, csumOffset);
        return b;
    }

    /** Sends {@code frame} after {@code header}; {@code splitHeader} puts the header in a descriptor of its own. */
    void send(int pair, byte[] header, byte[] frame, boolean splitHeader) throws Exception {
        long[] addrs;
        int[] lens;
        if (splitHeader) {
            long h = alloc(header.length);
            long f = alloc(Math.max(frame.length, 1));
            MemorySegment.copy(header, 0, session.ram().at(h, header.length), ValueLayout.JAVA_BYTE, 0, header.length);
            MemorySegment.copy(frame, 0, session.ram().at(f, frame.length), ValueLayout.JAVA_BYTE, 0, frame.length);
            addrs = new long[] {h, f};
            lens = new int[] {header.length, frame.length};
        } else {
            long a = alloc(header.length + frame.length);
            MemorySegment m = session.ram().at(a, header.length + frame.length);
            MemorySegment.copy(header, 0, m, ValueLayout.JAVA_BYTE, 0, header.length);
            MemorySegment.copy(frame, 0, m, ValueLayout.JAVA_BYTE, header.length, frame.length);
            addrs = new long[] {a};
            lens = new int[] {header.length + frame.length};
        }
        int token = nextToken++;
        if (!tx[pair].queue().post(addrs, lens, addrs.length, 0, token)) {
            throw new IllegalStateException("transmit ring full");
        }
        tx[pair].publishAndKick();
        tx[pair].awaitUsed(used, WAIT);
    }

    /** Sends {@code bytes} (header and frame) cut into descriptors of the given lengths (the rest in a last one). */
    void sendPieces(int pair, byte[] bytes, int... lengths) throws Exception {
        int count = lengths.length + 1;
        long[] addrs = new long[count];
        int[] lens = new int[count];
        int at = 0;
        for (int i = 0; i < count; i++) {
            int n = i < lengths.length ? lengths[i] : bytes.length - at;
            addrs[i] = alloc(Math.max(n, 1));
            lens[i] = n;
            MemorySegment.copy(bytes, at, session.ram().at(addrs[i], Math.max(n, 1)), ValueLayout.JAVA_BYTE, 0, n);
            at += n;
        }
        int token = nextToken++;
        if (!tx[pair].queue().post(addrs, lens, count, 0, token)) {
            throw new IllegalStateException("transmit ring full");
        }
        tx[pair].publishAndKick();
        tx[pair].awaitUsed(used, WAIT);
    }

    /** Posts one receive buffer made of descriptors of the given lengths. */
    void postRxPieces(int pair, int... lengths) throws Exception {
        long[] addrs = new long[lengths.length];
        long[] record = new long[lengths.length * 2];
        for (int i = 0; i < lengths.length; i++) {
            addrs[i] = alloc(lengths[i]);
            record[2 * i] = addrs[i];
            record[2 * i + 1] = lengths[i];
        }
        int token = nextToken++;
        if (!rx[pair].queue().post(addrs, lengths, 0, lengths.length, token)) {
            throw new IllegalStateException("receive ring full");
        }
        posted.put(token, record);
        rx[pair].publishAndKick();
    }

    void send(int pair, byte[] frame) throws Exception {
        send(pair, header(0, 0, 0, 0, 0, 0), frame, false);
    }

    /** Runs a control command; returns the ack byte the device wrote. */
    int control(int cls, int cmd, byte[] data) throws Exception {
        long h = alloc(2);
        session.ram().at(h, 2).set(ValueLayout.JAVA_BYTE, 0, (byte) cls);
        session.ram().at(h, 2).set(ValueLayout.JAVA_BYTE, 1, (byte) cmd);
        long ack = alloc(1);
        session.ram().at(ack, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) 0x77);
        long[] addrs;
        int[] lens;
        if (data.length > 0) {
            long d = alloc(data.length);
            MemorySegment.copy(data, 0, session.ram().at(d, data.length), ValueLayout.JAVA_BYTE, 0, data.length);
            addrs = new long[] {h, d, ack};
            lens = new int[] {2, data.length, 1};
        } else {
            addrs = new long[] {h, ack};
            lens = new int[] {2, 1};
        }
        int token = nextToken++;
        if (!ctrl.queue().post(addrs, lens, addrs.length - 1, 1, token)) {
            throw new IllegalStateException("control ring full");
        }
        ctrl.publishAndKick();
        ctrl.awaitUsed(used, WAIT);
        if (used.length() != 1) {
            throw new AssertionError("control ack length " + used.length());
        }
        return session.ram().at(ack, 1).get(ValueLayout.JAVA_BYTE, 0) & 0xFF;
    }

    /** Data in the driver's byte order for control commands: u16 or u32 values, then raw bytes. */
    byte[] u16(int value) {
        byte[] b = new byte[2];
        order.putU16(MemorySegment.ofArray(b), 0, value);
        return b;
    }

    byte[] u32(long value) {
        byte[] b = new byte[4];
        order.putU32(MemorySegment.ofArray(b), 0, value);
        return b;
    }

    byte[] config() throws Exception {
        return session.frontend().getConfig(0, NetConfigSpace.SIZE);
    }

    @Override
    public void close() {
        session.close();
    }
}

package io.jvdpa.net;

import io.jvdpa.device.Queue;
import io.jvdpa.memory.Endianness;
import java.lang.foreign.MemorySegment;
import io.jvdpa.virtqueue.ChainReader;
import io.jvdpa.virtqueue.DescriptorChain;
import io.jvdpa.virtqueue.DeviceQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transmit queue of one queue pair: takes the frames the guest sends (VIRTIO 1.2 §5.1.6.2) and hands them to
 * the network.
 *
 * <p>Each buffer starts with a virtio_net_hdr in the driver's byte order; the frame follows. The header is read
 * through {@link ChainReader}, which crosses descriptor boundaries, so a legacy driver that puts the header in a
 * descriptor of its own (no ANY_LAYOUT) and a driver that puts everything in one descriptor are read alike. The
 * frame is copied into one preallocated packet, and the buffer goes back to the guest at once.
 *
 * <p>A burst is bounded so that one busy transmit queue cannot starve the other queues on its worker; used
 * buffers are published every {@link #PUBLISH_EVERY} frames and at the end of the burst.
 *
 * <p>Buffers are taken {@link #BATCH} at a time, and the first bytes of each (header and frame start) are read
 * before any is sent. The driver has just written them from its own CPU: read one frame at a time, every frame
 * waits for its cache lines in turn; read together, the loads overlap and the frames are at hand when they are
 * copied.
 */
final class TxPath {
    private static final Logger LOG = LoggerFactory.getLogger(TxPath.class);
    private static final int PUBLISH_EVERY = 64;
    private static final int BATCH = 32;
    private static final int BUDGET = 1024;
    private static final int FRAMES = 0;
    private static final int BYTES = 1;
    private static final int ERRORS = 2;

    private final String label;
    private final int pair;
    private final DescriptorChain[] batch = new DescriptorChain[BATCH];
    private final Packet packet = Packet.allocate(Packet.MAX_FRAME);
    private final Counters counters = new Counters(3);
    private final Runnable resume = this::resume;
    private Queue queue;
    private DeviceQueue ring;
    private Endianness order = Endianness.LITTLE;
    private int hdrSize = NetHeader.SIZE;
    private boolean poll;
    private Network network;
    private RxPath rx;
    private boolean loggedNetworkFailure;
    private boolean kicksOff;
    /** Where the bytes read ahead go, so that the loads are made. */
    private int readAheadSink;

    TxPath(String label, int pair) {
        this.label = label;
        this.pair = pair;
        for (int i = 0; i < BATCH; i++) {
            batch[i] = new DescriptorChain();
        }
    }

    /** The transmit queue started (worker thread). */
    void start(Queue q, Endianness deviceOrder, long acked, Network net, RxPath sameRx) {
        queue = q;
        ring = q.ring();
        ring.setLabel(label);
        order = deviceOrder;
        hdrSize = NetHeader.size(acked);
        network = net;
        rx = sameRx;
        poll = q.worker().pollMode();
        kicksOff = false;
        if (poll) {
            ring.disableNotifications();
        }
    }

    void stop() {
        DeviceQueue r = ring;
        if (r != null && kicksOff) {
            r.enableNotifications(); // the ring's next owner starts with kicks on
            kicksOff = false;
        }
        ring = null;
    }

    /** Sends what the guest queued, up to a budget; then publishes and notifies once (worker thread). */
    void process() {
        DeviceQueue r = ring;
        if (r == null) {
            return;
        }
        if (!poll && !kicksOff) {
            // No kicks while this loop drains the ring anyway; asked for again once it is empty.
            r.disableNotifications();
            kicksOff = true;
        }
        int done = 0;
        int unpublished = 0;
        while (done < BUDGET) {
            int n = 0;
            while (n < BATCH && done + n < BUDGET && r.pop(batch[n])) {
                n++;
            }
            if (n == 0) {
                if (poll) {
                    break;
                }
                kicksOff = false;
                if (!r.enableNotifications()) {
                    break;
                }
                r.disableNotifications();
                kicksOff = true;
                continue;
            }
            readAhead(n);
            for (int i = 0; i < n; i++) {
                DescriptorChain c = batch[i];
                transmit(c);
                r.addUsed(c, 0);
            }
            done += n;
            unpublished += n;
            if (unpublished >= PUBLISH_EVERY) {
                queue.publish();
                rx.flush();
                unpublished = 0;
            }
        }
        queue.publish();
        rx.flush();
        if (done == BUDGET && !poll) {
            // More may be waiting, and the driver will not kick for buffers it already announced: come back.
            queue.worker().post(resume);
        }
    }

    /** Reads the first byte of each buffer's header and of its frame, so that their lines are on their way. */
    private void readAhead(int n) {
        int sink = 0;
        int skip = hdrSize;
        for (int i = 0; i < n; i++) {
            DescriptorChain c = batch[i];
            if (c.readableSegments() == 0) {
                continue;
            }
            MemorySegment base = c.segmentBase(0);
            long at = c.segmentOffset(0);
            sink += Endianness.u8(base, at);
            if (c.segmentLength(0) > skip) {
                sink += Endianness.u8(base, at + skip);
            }
        }
        readAheadSink += sink;
    }

    private void resume() {
        if (ring != null && queue.enabled()) {
            process();
        }
    }

    private void transmit(DescriptorChain c) {
        long readable = c.readableBytes();
        if (readable < hdrSize + Packet.ETH_HEADER || readable - hdrSize > packet.capacity()) {
            counters.increment(ERRORS);
            return;
        }
        int length = (int) (readable - hdrSize);
        if (c.segmentLength(0) >= hdrSize) {
            readHeaderInPlace(c, length);
        } else {
            readHeaderAcrossSegments(c, length);
        }
        int flags = packet.flags();
        int gsoType = packet.gsoType();
        if (!network.carriesOffloads()) {
            if (gsoType != NetHeader.GSO_NONE) {
                counters.increment(ERRORS); // never offered to this network: a driver bug
                return;
            }
            if ((flags & NetHeader.F_NEEDS_CSUM) != 0) {
                if (!InternetChecksum.completePartial(packet)) {
                    counters.increment(ERRORS);
                    return;
                }
                packet.setFlags(NetHeader.F_DATA_VALID);
            }
        }
        counters.increment(FRAMES);
        counters.add(BYTES, length);
        try {
            network.transmit(pair, packet);
        } catch (RuntimeException e) {
            counters.increment(ERRORS);
            if (!loggedNetworkFailure) {
                loggedNetworkFailure = true;
                LOG.warn("{}: {} failed on a frame (logged once): {}", label, network.describe(), e.toString(), e);
            }
        }
    }

    /**
     * The usual case: the whole header is in the first descriptor. Its fields are read where they are and the
     * frame is copied segment by segment, without the cursor's per-field bookkeeping.
     */
    private void readHeaderInPlace(DescriptorChain c, int length) {
        MemorySegment base = c.segmentBase(0);
        long at = c.segmentOffset(0);
        Endianness o = order;
        packet.reset(0, length);
        packet.setHeader(Endianness.u8(base, at + NetHeader.FLAGS) & NetHeader.F_NEEDS_CSUM,
                Endianness.u8(base, at + NetHeader.GSO_TYPE), o.u16(base, at + NetHeader.HDR_LEN),
                o.u16(base, at + NetHeader.GSO_SIZE), o.u16(base, at + NetHeader.CSUM_START),
                o.u16(base, at + NetHeader.CSUM_OFFSET));
        MemorySegment dst = packet.segment();
        int first = c.segmentLength(0) - hdrSize;
        MemorySegment.copy(base, at + hdrSize, dst, 0, first);
        long done = first;
        int segments = c.readableSegments();
        for (int i = 1; i < segments; i++) {
            int n = c.segmentLength(i);
            MemorySegment.copy(c.segmentBase(i), c.segmentOffset(i), dst, done, n);
            done += n;
        }
    }

    /** A header split over descriptors (or in a descriptor of its own that is shorter than it): field by field. */
    private void readHeaderAcrossSegments(DescriptorChain c, int length) {
        ChainReader in = c.reader();
        Endianness o = order;
        int flags = in.readU8();
        int gsoType = in.readU8();
        int hdrLen = in.readU16(o);
        int gsoSize = in.readU16(o);
        int csumStart = in.readU16(o);
        int csumOffset = in.readU16(o);
        if (hdrSize == NetHeader.SIZE) {
            in.skip(2); // num_buffers: meaningless on transmit
        }
        in.read(packet.segment(), 0, length);
        packet.reset(0, length);
        packet.setHeader(flags & NetHeader.F_NEEDS_CSUM, gsoType, hdrLen, gsoSize, csumStart, csumOffset);
    }

    /** Sends a frame the device makes up itself (a RARP announcement), as if the guest had sent it. */
    void inject(Packet frame) {
        counters.increment(FRAMES);
        counters.add(BYTES, frame.length());
        network.transmit(pair, frame);
    }

    long frames() {
        return counters.get(FRAMES);
    }

    long bytes() {
        return counters.get(BYTES);
    }

    long errors() {
        return counters.get(ERRORS);
    }
}

package io.jvdpa.net;

import io.jvdpa.device.Queue;
import io.jvdpa.device.Worker;
import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.EventFd;
import io.jvdpa.sys.LinuxException;
import io.jvdpa.virtqueue.ChainWriter;
import io.jvdpa.virtqueue.DescriptorChain;
import io.jvdpa.virtqueue.DeviceQueue;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receive queue of one queue pair: puts frames into the guest's buffers (VIRTIO 1.2 §5.1.6.4).
 *
 * <p>Each frame gets a virtio_net_hdr in the driver's byte order, then the frame. Without MRG_RXBUF a frame
 * takes one buffer (num_buffers, when the header has it, is 1); with it a frame spreads over as many buffers as
 * it needs and num_buffers says how many. Writing goes through {@link ChainWriter}, which crosses descriptor
 * boundaries, so a legacy driver's buffer with the header in its own descriptor (no ANY_LAYOUT) is filled the
 * same way as a single-descriptor buffer.
 *
 * <p>Buffers are taken from the ring when a frame needs one, as many at a time as the ring has (up to a batch).
 * A ring cannot give a buffer back, so buffers taken and not filled yet stay reserved here, in order, for the
 * next frames; at stop they are returned empty.
 *
 * <p>Frames the guest has no room for wait in a {@link PacketQueue}; other threads hand frames over through the
 * same queue and wake the worker with an eventfd. Everything else runs on the pair's worker thread.
 */
final class RxPath implements GuestRx {
    private static final Logger LOG = LoggerFactory.getLogger(RxPath.class);
    private static final int MAX_RESERVED = 64;
    private static final int RESERVE_BATCH = 32;
    private static final int RESERVED_MASK = MAX_RESERVED - 1;
    private static final int BACKLOG = 256;
    /** Frames delivered between publishes at most, as the transmit path does. */
    private static final int PUBLISH_EVERY = 32;

    private final String label;
    private final RxFilter filter;
    private final PacketQueue backlog;
    private final EventFd wake;
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final Worker.Handler onWake = this::onWake;
    private final Packet view = Packet.view();
    private final DescriptorChain[] reserved = new DescriptorChain[MAX_RESERVED];
    private int reservedHead;
    private int reservedCount;
    private long reservedBytes;

    private volatile Worker worker;
    private volatile boolean started;
    private Queue queue;
    private DeviceQueue ring;
    private Endianness order = Endianness.LITTLE;
    private int hdrSize = NetHeader.SIZE;
    private boolean mergeable;
    private boolean guestCsum;
    private long acked;
    private boolean poll;
    /** Frames delivered and buffers given back empty since the last publish. */
    private int unpublished;
    private int wakeKey = -1;

    private static final int FRAMES = 0;
    private static final int BYTES = 1;
    private static final int DROPPED = 2;
    private static final int FILTERED = 3;
    private final Counters counters = new Counters(4);
    private final AtomicLong postDropped = new AtomicLong();

    RxPath(String label, RxFilter filter, int slotSize) throws LinuxException {
        this.label = label;
        this.filter = filter;
        this.backlog = new PacketQueue(BACKLOG, slotSize);
        this.wake = EventFd.create();
        for (int i = 0; i < MAX_RESERVED; i++) {
            reserved[i] = new DescriptorChain();
        }
    }

    /** The driver negotiated (control thread, before the queue starts). */
    void attach(Worker pairWorker, long ackedFeatures) {
        this.worker = pairWorker;
        this.acked = ackedFeatures;
    }

    /** The receive queue started: take on the ring and the driver's header format (worker thread). */
    void start(Queue q, Endianness deviceOrder) throws LinuxException {
        queue = q;
        ring = q.ring();
        ring.setLabel(label);
        order = deviceOrder;
        hdrSize = NetHeader.size(acked);
        mergeable = VirtioNetFeatures.has(acked, VirtioNetFeatures.MRG_RXBUF);
        guestCsum = VirtioNetFeatures.has(acked, VirtioNetFeatures.GUEST_CSUM);
        poll = q.worker().pollMode();
        if (poll) {
            ring.disableNotifications();
        }
        reservedHead = 0;
        reservedCount = 0;
        reservedBytes = 0;
        unpublished = 0;
        wakeKey = q.worker().watch(wake.fd(), onWake);
        started = true;
    }

    /** The receive queue stops (worker thread): buffers held back go to the guest empty. */
    void stop() {
        started = false;
        DeviceQueue r = ring;
        if (r == null) {
            return;
        }
        while (reservedCount > 0) {
            r.addUsed(reserved[reservedHead], 0);
            consumeReserved(1);
            unpublished++;
        }
        flush();
        if (wakeKey >= 0) {
            queue.worker().unwatch(wake.fd(), wakeKey);
            wakeKey = -1;
        }
        ring = null;
    }

    /** The driver left (control thread, every queue stopped): frames still waiting are dropped. */
    void detach() {
        backlog.clear();
    }

    void close() {
        wake.close();
    }

    @Override
    public Worker worker() {
        return worker;
    }

    @Override
    public boolean running() {
        Queue q = queue;
        return started && q != null && q.enabled();
    }

    @Override
    public boolean deliver(Packet frame) {
        DeviceQueue r = ring;
        if (r == null || !queue.enabled()) {
            return false;
        }
        if (!filter.accepts(frame)) {
            counters.increment(FILTERED);
            return true;
        }
        if (!prepare(frame)) {
            counters.increment(DROPPED);
            return true;
        }
        int need = hdrSize + frame.length();
        if (reservedCount == 0 && !reserve(r)) {
            return false;
        }
        DescriptorChain c = reserved[reservedHead];
        if (c.writableBytes() >= need) {
            writeOne(r, c, frame, need);
            consumeReserved(1);
        } else if (!mergeable) {
            // Too long for this driver's buffers (a frame over the MTU): the buffer waits for the next frame.
            counters.increment(DROPPED);
            return true;
        } else {
            while (reservedBytes < need) {
                if (reservedCount == MAX_RESERVED) {
                    counters.increment(DROPPED);
                    return true;
                }
                if (!reserve(r)) {
                    return false;
                }
            }
            writeMerged(r, frame, need);
        }
        counters.increment(FRAMES);
        counters.add(BYTES, frame.length());
        if (++unpublished >= PUBLISH_EVERY) {
            // A network may deliver a whole ring of frames in one go: the guest starts on the first ones
            // meanwhile instead of waiting for the end of the burst.
            flush();
        }
        return true;
    }

    /**
     * Makes {@code frame} fit what the driver negotiated: a partial checksum is completed for a driver without
     * GUEST_CSUM; a segmented frame the driver cannot take is refused.
     */
    private boolean prepare(Packet frame) {
        int gso = frame.gsoType();
        if (gso != NetHeader.GSO_NONE && !guestTakes(gso)) {
            return false;
        }
        if ((frame.flags() & NetHeader.F_NEEDS_CSUM) != 0 && !guestCsum) {
            if (gso != NetHeader.GSO_NONE || !InternetChecksum.completePartial(frame)) {
                return false;
            }
            frame.setFlags(NetHeader.F_DATA_VALID);
        }
        return true;
    }

    private boolean guestTakes(int gsoType) {
        if ((gsoType & NetHeader.GSO_ECN) != 0 && !VirtioNetFeatures.has(acked, VirtioNetFeatures.GUEST_ECN)) {
            return false;
        }
        return switch (gsoType & ~NetHeader.GSO_ECN) {
            case NetHeader.GSO_TCPV4 -> VirtioNetFeatures.has(acked, VirtioNetFeatures.GUEST_TSO4);
            case NetHeader.GSO_TCPV6 -> VirtioNetFeatures.has(acked, VirtioNetFeatures.GUEST_TSO6);
            case NetHeader.GSO_UDP -> VirtioNetFeatures.has(acked, VirtioNetFeatures.GUEST_UFO);
            default -> false;
        };
    }

    /** The frame in one buffer (num_buffers 1). */
    private void writeOne(DeviceQueue r, DescriptorChain c, Packet frame, int need) {
        int first = c.firstWritable();
        if (c.segmentLength(first) >= need) {
            // The usual case: header and frame fit the first writable descriptor. Written in place, then counted
            // (and logged for migration) once, without the cursor's bookkeeping.
            MemorySegment base = c.segmentBase(first);
            long at = c.segmentOffset(first);
            putHeader(base, at, frame, 1);
            MemorySegment.copy(frame.segment(), frame.offset(), base, at + hdrSize, frame.length());
            c.writer().advance(need);
            r.addUsed(c, need);
            return;
        }
        writeHeader(c, frame, 1);
        ChainWriter w = c.writer();
        w.write(frame.segment(), frame.offset(), frame.length());
        r.addUsed(c, (int) w.bytesWritten());
    }

    /** Spreads header and frame over as few reserved buffers as hold them; num_buffers says how many. */
    private void writeMerged(DeviceQueue r, Packet frame, int need) {
        int buffers = 0;
        long room = 0;
        while (room < need) {
            room += reserved[(reservedHead + buffers) & RESERVED_MASK].writableBytes();
            buffers++;
        }
        writeHeader(reserved[reservedHead], frame, buffers);
        long from = frame.offset();
        int left = frame.length();
        for (int i = 0; i < buffers; i++) {
            DescriptorChain c = reserved[(reservedHead + i) & RESERVED_MASK];
            ChainWriter w = c.writer();
            int piece = (int) Math.min(w.remaining(), left);
            w.write(frame.segment(), from, piece);
            from += piece;
            left -= piece;
            r.addUsed(c, (int) w.bytesWritten());
        }
        consumeReserved(buffers);
    }

    private void writeHeader(DescriptorChain c, Packet frame, int numBuffers) {
        ChainWriter w = c.writer();
        int first = c.firstWritable();
        if (c.segmentLength(first) >= hdrSize) {
            putHeader(c.segmentBase(first), c.segmentOffset(first), frame, numBuffers);
            w.advance(hdrSize);
            return;
        }
        // A header split over descriptors (a legacy driver's own header descriptor shorter than it): field by field.
        Endianness o = order;
        int flags = headerFlags(frame);
        boolean partial = (flags & NetHeader.F_NEEDS_CSUM) != 0;
        boolean gso = frame.gsoType() != NetHeader.GSO_NONE;
        w.writeU8(flags);
        w.writeU8(frame.gsoType());
        w.writeU16(gso ? frame.hdrLen() : 0, o);
        w.writeU16(gso ? frame.gsoSize() : 0, o);
        w.writeU16(partial ? frame.csumStart() : 0, o);
        w.writeU16(partial ? frame.csumOffset() : 0, o);
        if (hdrSize == NetHeader.SIZE) {
            w.writeU16(numBuffers, o);
        }
    }

    /** The header in one piece of guest memory. */
    private void putHeader(MemorySegment base, long at, Packet frame, int numBuffers) {
        int flags = headerFlags(frame);
        boolean partial = (flags & NetHeader.F_NEEDS_CSUM) != 0;
        boolean gso = frame.gsoType() != NetHeader.GSO_NONE;
        NetHeader.put(base, at, order, hdrSize, flags, frame.gsoType(), gso ? frame.hdrLen() : 0,
                gso ? frame.gsoSize() : 0, partial ? frame.csumStart() : 0, partial ? frame.csumOffset() : 0,
                numBuffers);
    }

    /** The checksum flags the driver may see: none without GUEST_CSUM (prepare completed the checksum). */
    private int headerFlags(Packet frame) {
        return guestCsum ? frame.flags() & (NetHeader.F_NEEDS_CSUM | NetHeader.F_DATA_VALID) : 0;
    }

    /**
     * Takes more buffers from the ring: up to {@link #RESERVE_BATCH} of them that are there now, so that one frame
     * at a time does not pay for the ring's bookkeeping between the stores into the guest's buffers. False if
     * there was none. A buffer too small for the header is no use to any frame and goes straight back empty (a
     * driver bug, not worth breaking the queue for).
     */
    private boolean reserve(DeviceQueue r) {
        boolean rechecked = false;
        int taken = 0;
        int room = Math.min(RESERVE_BATCH, MAX_RESERVED - reservedCount);
        while (taken < room) {
            DescriptorChain c = reserved[(reservedHead + reservedCount) & RESERVED_MASK];
            if (!r.pop(c)) {
                // Ask for a kick when buffers come, then look once more: they may have come meanwhile.
                if (taken > 0 || poll || rechecked || !r.enableNotifications()) {
                    break;
                }
                rechecked = true;
                continue;
            }
            if (c.writableBytes() < hdrSize) {
                r.addUsed(c, 0);
                unpublished++;
                counters.increment(DROPPED);
                continue;
            }
            reservedCount++;
            reservedBytes += c.writableBytes();
            taken++;
        }
        return taken > 0;
    }

    private void consumeReserved(int n) {
        for (int i = 0; i < n; i++) {
            reservedBytes -= reserved[reservedHead].writableBytes();
            reservedHead = (reservedHead + 1) & RESERVED_MASK;
            reservedCount--;
        }
    }

    @Override
    public boolean send(Packet frame) {
        if (backlog.isEmpty() && deliver(frame)) {
            return true;
        }
        if (backlog.offer(frame)) {
            return true;
        }
        counters.increment(DROPPED);
        return false;
    }

    @Override
    public boolean post(Packet frame) {
        if (!backlog.offer(frame)) {
            postDropped.incrementAndGet();
            return false;
        }
        if (wakePending.compareAndSet(false, true)) {
            try {
                wake.signal();
            } catch (LinuxException | IllegalStateException e) {
                LOG.debug("{}: waking the receive path failed: {}", label, e.getMessage());
            }
        }
        return true;
    }

    /** The eventfd says other threads queued frames (worker thread). */
    private void onWake() {
        // Drain the eventfd, then clear the flag, then look at the queue. A frame posted before the flag was
        // cleared is seen below; one posted after it signals the eventfd again. (Clearing the flag before
        // draining would swallow the signal of a frame posted in between and leave the flag set for good.)
        try {
            wake.drain();
        } catch (LinuxException | IllegalStateException e) {
            LOG.debug("{}: draining the wake-up eventfd failed: {}", label, e.getMessage());
        }
        wakePending.set(false);
        // The flag store must be visible before the queue is read, or a producer that still saw it set could
        // go unseen (store-load order, which only a full fence gives).
        VarHandle.fullFence();
        drainBacklog();
        flush();
    }

    /** Delivers waiting frames, oldest first, while the guest has room (worker thread). */
    void drainBacklog() {
        while (backlog.peek(view)) {
            if (!deliver(view)) {
                return;
            }
            backlog.remove();
        }
    }

    @Override
    public void flush() {
        if (unpublished > 0 && ring != null) {
            unpublished = 0;
            queue.publish();
        }
    }

    long frames() {
        return counters.get(FRAMES);
    }

    long bytes() {
        return counters.get(BYTES);
    }

    long dropped() {
        return counters.get(DROPPED) + postDropped.get();
    }

    long filtered() {
        return counters.get(FILTERED);
    }
}

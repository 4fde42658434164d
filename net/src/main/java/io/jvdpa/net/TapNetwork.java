package io.jvdpa.net;

import io.jvdpa.device.DeviceException;
import io.jvdpa.device.Worker;
import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.IoVec;
import io.jvdpa.sys.LinuxException;
import io.jvdpa.sys.Tap;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A host TAP device (created if absent, an existing one reused) with IFF_VNET_HDR, so checksum and segmentation
 * offloads travel with the frames both ways: what the guest may send unsegmented (HOST_TSO4/6, HOST_UFO) the
 * kernel segments, and what the guest accepts (GUEST_CSUM, GUEST_TSO4/6, GUEST_UFO) is set on the device with
 * TUNSETOFFLOAD so the kernel leaves that work to the guest.
 *
 * <p>The TAP side always uses the 12-byte little-endian header (TUNSETVNETHDRSZ); the device translates from and
 * to whatever the guest's driver speaks. With several queue pairs the device is opened IFF_MULTI_QUEUE, one
 * file descriptor (one kernel queue) per pair, each read on its pair's worker. The kernel spreads flows over
 * the queues that are attached, so a pair's queue is attached only while the guest runs that pair's receive
 * queue (a driver may use fewer pairs than the device has); the first pair's queue stays, and keeps the device.
 * When the guest has no receive buffers the descriptor is taken out of the worker's epoll set until the guest
 * posts some, so frames wait in the kernel.
 */
public final class TapNetwork implements Network {
    private static final Logger LOG = LoggerFactory.getLogger(TapNetwork.class);
    private static final int VNET_HDR = NetHeader.SIZE;
    /** Frames read per wake-up at most, so one busy TAP queue cannot starve the others on its worker. */
    private static final int BURST = 64;

    private static final int TX_FRAMES = 0;
    private static final int TX_ERRORS = 1;
    private static final int RX_FRAMES = 2;
    /** Of TX_FRAMES, those the guest left to the kernel to segment (a GSO type in the header). */
    private static final int TX_GSO = 3;
    /** Of RX_FRAMES, those the kernel left to the guest to segment. */
    private static final int RX_GSO = 4;

    private final String name;
    private final boolean multiQueue;
    private final Tap first;
    private final PairState[] pairs;
    private final PairCounters counters = new PairCounters(5);
    private volatile GuestPort guest;

    /** Opens (or creates) {@code name}, multi-queue if there is more than one pair, and sets its link up. */
    public TapNetwork(String name, int queuePairs) throws LinuxException {
        this.name = name;
        this.multiQueue = queuePairs > 1;
        this.first = Tap.open(name, VNET_HDR, multiQueue);
        try {
            first.setNonBlocking(true);
            first.up();
        } catch (LinuxException | RuntimeException e) {
            first.close();
            throw e;
        }
        this.pairs = new PairState[queuePairs];
        for (int p = 0; p < queuePairs; p++) {
            pairs[p] = new PairState(p);
        }
        LOG.info("tap {}: opened, {}", first.name(), multiQueue ? queuePairs + " queues" : "one queue");
    }

    /** The interface name the kernel confirmed. */
    public String interfaceName() {
        return first.name();
    }

    @Override
    public String describe() {
        return "tap:" + name;
    }

    @Override
    public long features() {
        return VirtioNetFeatures.OFFLOADS;
    }

    @Override
    public boolean carriesOffloads() {
        return true;
    }

    /** Tells the kernel which offloads the guest's driver takes, so it hands over only frames the guest can use. */
    @Override
    public void attach(GuestPort port) throws DeviceException {
        long f = port.ackedFeatures();
        int offload = 0;
        if (VirtioNetFeatures.has(f, VirtioNetFeatures.GUEST_CSUM)) {
            offload |= Tap.TUN_F_CSUM;
            if (VirtioNetFeatures.has(f, VirtioNetFeatures.GUEST_TSO4)) offload |= Tap.TUN_F_TSO4;
            if (VirtioNetFeatures.has(f, VirtioNetFeatures.GUEST_TSO6)) offload |= Tap.TUN_F_TSO6;
            if (VirtioNetFeatures.has(f, VirtioNetFeatures.GUEST_ECN)) offload |= Tap.TUN_F_TSO_ECN;
            if (VirtioNetFeatures.has(f, VirtioNetFeatures.GUEST_UFO)) offload |= Tap.TUN_F_UFO;
        }
        try {
            first.setOffload(offload);
        } catch (LinuxException e) {
            throw new DeviceException("tap " + name + ": cannot set offloads 0x" + Integer.toHexString(offload)
                    + ": " + e.getMessage());
        }
        guest = port;
    }

    @Override
    public void detach() {
        guest = null;
    }

    @Override
    public void pairStarted(int pair) {
        GuestPort g = guest;
        if (g != null && pair < pairs.length) {
            pairs[pair].start(g.rx(pair));
        }
    }

    @Override
    public void pairStopped(int pair) {
        if (pair < pairs.length) {
            pairs[pair].stop();
        }
    }

    @Override
    public void receiveReady(int pair) {
        if (pair < pairs.length) {
            pairs[pair].resume();
        }
    }

    @Override
    public void transmit(int pair, Packet frame) {
        pairs[Math.min(pair, pairs.length - 1)].write(frame);
    }

    @Override
    public String counters() {
        return "tap-tx=%d tap-tx-errors=%d tap-tx-gso=%d tap-rx=%d tap-rx-gso=%d".formatted(counters.sum(TX_FRAMES),
                counters.sum(TX_ERRORS), counters.sum(TX_GSO), counters.sum(RX_FRAMES), counters.sum(RX_GSO));
    }

    /** Queues attached now (for tests and management). */
    public int attachedQueues() {
        int n = 0;
        for (PairState p : pairs) {
            if (p.tap != null) {
                n++;
            }
        }
        return n;
    }

    @Override
    public void close() {
        for (PairState p : pairs) {
            p.closeQueue();
        }
        first.close();
    }

    /** One TAP queue and the guest receive queue it feeds; used only on that pair's worker thread. */
    private final class PairState {
        private final int pair;
        private final Packet in = Packet.allocate(VNET_HDR + Packet.MAX_FRAME);
        private final MemorySegment outHeader = Arena.ofAuto().allocate(VNET_HDR, 8);
        private final IoVec iov = new IoVec(2);
        private final Counters count;
        private final Worker.Handler onReadable = this::readable;
        /** This pair's queue while attached; the first pair's is always. */
        private volatile Tap tap;
        private GuestRx rx;
        private Worker worker;
        private int key = -1;
        /** A frame read while the guest had no room: it goes first when room comes. */
        private boolean held;
        private boolean loggedFailure;

        PairState(int pair) {
            this.pair = pair;
            this.count = counters.pair(pair);
            if (pair == 0) {
                tap = first;
            }
        }

        void start(GuestRx guestRx) {
            rx = guestRx;
            worker = guestRx.worker();
            held = false;
            if (guestRx.running()) {
                attach();
            }
        }

        void stop() {
            unwatch();
            held = false;
            rx = null;
            detach();
        }

        /** Opens this pair's queue (another descriptor on the same device) and listens to it. */
        private void attach() {
            if (tap == null) {
                try {
                    Tap t = Tap.open(name, VNET_HDR, multiQueue);
                    t.setNonBlocking(true);
                    tap = t;
                } catch (LinuxException e) {
                    logOnce("attaching queue " + pair, e);
                    return;
                }
            }
            watch();
        }

        /** Closes this pair's queue, so the kernel steers no flow to it (the first pair's stays open). */
        private void detach() {
            if (pair != 0) {
                closeQueue();
            }
        }

        void closeQueue() {
            Tap t = tap;
            if (t != null && t != first) {
                tap = null;
                t.close();
            }
        }

        private void watch() {
            Tap t = tap;
            if (key >= 0 || worker == null || t == null) {
                return;
            }
            try {
                key = worker.watch(t.fd(), onReadable);
            } catch (LinuxException e) {
                LOG.error("tap {} queue {}: cannot watch for frames: {}", name, pair, e.getMessage());
            }
        }

        private void unwatch() {
            Tap t = tap;
            if (key >= 0 && t != null) {
                worker.unwatch(t.fd(), key);
            }
            key = -1;
        }

        /** The guest posted receive buffers: deliver the held frame, then listen to the TAP again. */
        void resume() {
            GuestRx r = rx;
            if (r == null || key >= 0) {
                return;
            }
            if (held) {
                if (!r.deliver(in)) {
                    return;
                }
                held = false;
                delivered(in);
            }
            attach();
        }

        private void readable() {
            GuestRx r = rx;
            Tap t = tap;
            if (r == null || t == null) {
                return;
            }
            try {
                for (int i = 0; i < BURST; i++) {
                    int n = t.read(in.segment());
                    if (n < 0) {
                        break;
                    }
                    if (n < VNET_HDR + Packet.ETH_HEADER) {
                        continue;
                    }
                    fromTapHeader(n);
                    if (!r.deliver(in)) {
                        unwatch();
                        if (r.running()) {
                            held = true; // no buffers now: wait for the guest's next ones
                        } else {
                            // The driver stopped using this pair: flows move to the other queues, and this
                            // frame goes to a pair that runs.
                            detach();
                            handOver(in);
                        }
                        break;
                    }
                    delivered(in);
                }
            } catch (LinuxException e) {
                logOnce("reading", e);
            }
            r.flush();
        }

        private void handOver(Packet frame) {
            GuestPort g = guest;
            if (g == null) {
                return;
            }
            long src = frame.source();
            int other = g.pickPair((int) (src ^ (src >>> 24)));
            if (other >= 0 && other != pair && g.rx(other).post(frame)) {
                delivered(frame);
            }
        }

        private void delivered(Packet frame) {
            count.increment(RX_FRAMES);
            if (frame.gsoType() != NetHeader.GSO_NONE) {
                count.increment(RX_GSO);
            }
        }

        /** Takes the kernel's header (little-endian) into the packet's fields. */
        private void fromTapHeader(int n) {
            MemorySegment s = in.segment();
            int flags = Endianness.u8(s, NetHeader.FLAGS);
            int gsoType = Endianness.u8(s, NetHeader.GSO_TYPE);
            in.reset(VNET_HDR, n - VNET_HDR);
            in.setHeader(flags, gsoType, Endianness.LITTLE.u16(s, NetHeader.HDR_LEN),
                    Endianness.LITTLE.u16(s, NetHeader.GSO_SIZE), Endianness.LITTLE.u16(s, NetHeader.CSUM_START),
                    Endianness.LITTLE.u16(s, NetHeader.CSUM_OFFSET));
        }

        /** Writes on this pair's queue, or the first one while this pair's is detached (any queue takes writes). */
        void write(Packet frame) {
            MemorySegment h = outHeader;
            Endianness.putU8(h, NetHeader.FLAGS, frame.flags() & NetHeader.F_NEEDS_CSUM);
            Endianness.putU8(h, NetHeader.GSO_TYPE, frame.gsoType());
            Endianness.LITTLE.putU16(h, NetHeader.HDR_LEN, frame.hdrLen());
            Endianness.LITTLE.putU16(h, NetHeader.GSO_SIZE, frame.gsoSize());
            Endianness.LITTLE.putU16(h, NetHeader.CSUM_START, frame.csumStart());
            Endianness.LITTLE.putU16(h, NetHeader.CSUM_OFFSET, frame.csumOffset());
            Endianness.LITTLE.putU16(h, NetHeader.NUM_BUFFERS, 0);
            iov.clear().add(h).add(frame.segment(), frame.offset(), frame.length());
            Tap t = tap;
            try {
                if ((t != null ? t : first).write(iov) < 0) {
                    count.increment(TX_ERRORS);
                    return;
                }
                count.increment(TX_FRAMES);
                if (frame.gsoType() != NetHeader.GSO_NONE) {
                    count.increment(TX_GSO);
                }
            } catch (LinuxException | IllegalStateException e) {
                count.increment(TX_ERRORS);
                logOnce("writing", e);
            }
        }

        private void logOnce(String what, Exception e) {
            if (!loggedFailure) {
                loggedFailure = true;
                LOG.warn("tap {} queue {}: {} failed (logged once): {}", name, pair, what, e.getMessage());
            }
        }
    }
}

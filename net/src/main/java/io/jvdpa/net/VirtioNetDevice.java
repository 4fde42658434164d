package io.jvdpa.net;

import io.jvdpa.device.DeviceContext;
import io.jvdpa.device.DeviceException;
import io.jvdpa.device.DriverModel;
import io.jvdpa.device.Queue;
import io.jvdpa.device.VirtioDevice;
import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.LinuxException;
import io.jvdpa.vhostuser.ProtocolFeature;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The virtio network device (VIRTIO 1.2 §5.1) over a {@link Network}.
 *
 * <p>Queues: receiveq1, transmitq1, ... receiveqN, transmitqN, then the control queue (index 2N with MQ,
 * index 2 without). A pair shares a worker thread ({@link #workerGroup}), so a network answers a frame from
 * transmitqK straight into receiveqK. The data path lives in {@link TxPath} and {@link RxPath}; the control
 * queue in {@link ControlQueue}; this class wires them to the framework and keeps the config space.
 *
 * <p>The same device serves modern and legacy drivers: the header size follows VERSION_1 and MRG_RXBUF, header
 * fields and config space follow the driver's byte order, and buffers are read and written across descriptors
 * so legacy framing (no ANY_LAYOUT) needs nothing special.
 */
public final class VirtioNetDevice implements VirtioDevice, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioNetDevice.class);
    public static final int VIRTIO_ID = 1;
    public static final int MAX_QUEUE_PAIRS = 8;
    /** Room for an Ethernet header and a VLAN tag on top of the MTU. */
    private static final int L2_OVERHEAD = 22;
    private static final int ETH_P_RARP = 0x8035;

    private static final long BASE_FEATURES = VirtioNetFeatures.bits(VirtioNetFeatures.MAC, VirtioNetFeatures.STATUS,
            VirtioNetFeatures.MTU, VirtioNetFeatures.MRG_RXBUF, VirtioNetFeatures.CSUM, VirtioNetFeatures.GUEST_CSUM,
            VirtioNetFeatures.CTRL_VQ, VirtioNetFeatures.CTRL_RX, VirtioNetFeatures.CTRL_RX_EXTRA,
            VirtioNetFeatures.CTRL_MAC_ADDR, VirtioNetFeatures.CTRL_VLAN, VirtioNetFeatures.GUEST_ANNOUNCE);

    private final String name;
    private final int pairs;
    private final int maxFrameMtu;
    private final Network network;
    private final RxFilter filter = new RxFilter();
    private final RxPath[] rx;
    private final TxPath[] tx;
    private final ControlQueue control;
    private final GuestPort port = new Port();

    private volatile long mac;
    private volatile int mtu;
    private volatile boolean linkUp = true;
    private volatile boolean announcePending;
    private volatile int activePairs = 1;
    private volatile DeviceContext context;
    private volatile long acked;
    private int dataQueues = 2;
    private int controlIndex = -1;

    public VirtioNetDevice(NetDeviceConfig config, Network network) throws LinuxException {
        this.name = config.name();
        this.pairs = config.queuePairs();
        this.mac = config.mac();
        this.mtu = config.mtu();
        this.maxFrameMtu = Math.max(config.mtu(), NetDeviceConfig.DEFAULT_MTU);
        this.network = network;
        this.rx = new RxPath[pairs];
        this.tx = new TxPath[pairs];
        try {
            for (int p = 0; p < pairs; p++) {
                rx[p] = new RxPath(name + " rx " + p, filter, maxFrameMtu + L2_OVERHEAD);
                tx[p] = new TxPath(name + " tx " + p, p);
            }
        } catch (LinuxException e) {
            close();
            throw e;
        }
        this.control = new ControlQueue(new ControlTarget());
    }

    public String name() {
        return name;
    }

    public Network network() {
        return network;
    }

    public long mac() {
        return mac;
    }

    public int queuePairs() {
        return pairs;
    }

    /** The receive filter the driver programmed (for management and tests). */
    public RxFilter filter() {
        return filter;
    }

    /** Pairs in use: what the driver set with VQ_PAIRS_SET, or every pair when it has no control queue. */
    public int activePairs() {
        return activePairs;
    }

    // ---- VirtioDevice: identity and negotiation ------------------------------------------------------

    @Override
    public String type() {
        return "net";
    }

    @Override
    public int virtioId() {
        return VIRTIO_ID;
    }

    @Override
    public long deviceFeatures() {
        long f = BASE_FEATURES;
        if (pairs > 1) {
            f |= 1L << VirtioNetFeatures.MQ;
        }
        if (network.carriesOffloads()) {
            f |= network.features() & VirtioNetFeatures.OFFLOADS;
        }
        return f;
    }

    @Override
    public Map<Integer, String> featureNames() {
        return VirtioNetFeatures.NAMES;
    }

    @Override
    public long protocolFeatures() {
        return ProtocolFeature.maskOf(ProtocolFeature.RARP, ProtocolFeature.NET_MTU);
    }

    @Override
    public int maxQueues() {
        return 2 * pairs + 1;
    }

    /** A queue pair shares a thread: the control queue goes with the group after the last pair. */
    @Override
    public int workerGroup(int index) {
        return index / 2;
    }

    // ---- Config space --------------------------------------------------------------------------------

    @Override
    public byte[] config(DriverModel driver) {
        int status = (linkUp ? NetConfigSpace.S_LINK_UP : 0) | (announcePending ? NetConfigSpace.S_ANNOUNCE : 0);
        return NetConfigSpace.build(mac, status, pairs, mtu, driver.deviceOrder());
    }

    /** Legacy drivers without CTRL_MAC_ADDR set the MAC by writing config space; nothing else is writable. */
    @Override
    public void writeConfig(int offset, byte[] data, DriverModel driver) throws DeviceException {
        if (offset < NetConfigSpace.MAC || offset + data.length > NetConfigSpace.MAC + 6) {
            throw new DeviceException("config space [" + offset + ", +" + data.length
                    + ") is read-only; only the MAC (bytes 0-5) may be written");
        }
        byte[] bytes = MacAddress.toBytes(mac);
        System.arraycopy(data, 0, bytes, offset, data.length);
        setMac(MacAddress.of(bytes, 0));
    }

    @Override
    public void setMtu(int newMtu) throws DeviceException {
        if (newMtu < 68 || newMtu > maxFrameMtu) {
            throw new DeviceException("MTU " + newMtu + " outside 68.." + maxFrameMtu
                    + " (start the device with a larger --mtu to allow more)");
        }
        mtu = newMtu;
    }

    /** Sets the link state the driver sees (VIRTIO_NET_S_LINK_UP) and tells it. */
    public void setLinkUp(boolean up) {
        linkUp = up;
        DeviceContext c = context;
        if (c != null) {
            c.configChanged();
        }
    }

    public boolean linkUp() {
        return linkUp;
    }

    /**
     * Asks the guest to announce itself (VIRTIO_NET_S_ANNOUNCE, GUEST_ANNOUNCE): after a migration the guest
     * sends gratuitous ARPs and acknowledges with VIRTIO_NET_CTRL_ANNOUNCE_ACK. Returns false if the driver
     * cannot do that (no GUEST_ANNOUNCE or no control queue).
     */
    public boolean announce() {
        DeviceContext c = context;
        long f = acked;
        if (c == null || !VirtioNetFeatures.has(f, VirtioNetFeatures.GUEST_ANNOUNCE)
                || !VirtioNetFeatures.has(f, VirtioNetFeatures.CTRL_VQ)) {
            return false;
        }
        announcePending = true;
        c.configChanged();
        return true;
    }

    public boolean announcePending() {
        return announcePending;
    }

    /**
     * SEND_RARP after a migration: the guest announces itself if it can; otherwise the device sends a RARP
     * broadcast from {@code mac} into the network, as if the guest had.
     */
    @Override
    public void sendRarp(byte[] guestMac) {
        if (announce()) {
            return;
        }
        DeviceContext c = context;
        if (c == null || guestMac.length < 6) {
            return;
        }
        Packet frame = rarp(MacAddress.of(guestMac, 0));
        c.queue(1).worker().post(() -> tx[0].inject(frame));
    }

    static Packet rarp(long source) {
        Packet p = Packet.allocate(60);
        p.reset(0, 60);
        p.segment().fill((byte) 0);
        p.setDestination(MacAddress.BROADCAST);
        p.setSource(source);
        p.putU16(12, ETH_P_RARP);
        p.putU16(14, 1);          // hardware type: Ethernet
        p.putU16(16, 0x0800);     // protocol type: IPv4
        p.putU8(18, 6);
        p.putU8(19, 4);
        p.putU16(20, 3);          // reverse request
        MacAddress.put(p.segment(), 22, source);
        MacAddress.put(p.segment(), 32, source);
        return p;
    }

    // ---- Lifecycle -----------------------------------------------------------------------------------

    @Override
    public void activate(DeviceContext ctx) throws DeviceException {
        long f = ctx.driver().ackedFeatures();
        boolean mq = VirtioNetFeatures.has(f, VirtioNetFeatures.MQ);
        boolean ctrl = VirtioNetFeatures.has(f, VirtioNetFeatures.CTRL_VQ);
        acked = f;
        dataQueues = mq ? 2 * pairs : 2;
        controlIndex = ctrl ? dataQueues : -1;
        // Without a control queue to say otherwise, every pair the front-end enables is in use.
        activePairs = mq && ctrl ? 1 : mq ? pairs : 1;
        announcePending = false;
        filter.reset(f, mac);
        for (int p = 0; p < dataQueues / 2; p++) {
            rx[p].attach(ctx.queue(2 * p).worker(), f);
        }
        context = ctx;
        network.attach(port);
        LOG.info("{}: active on {}: {} queue pair(s), header {} bytes, {} byte order", name, network.describe(),
                dataQueues / 2, NetHeader.size(f), ctx.driver().deviceOrder());
    }

    @Override
    public void queueStarted(Queue q) {
        int i = q.index();
        Endianness order = context.driver().deviceOrder();
        if (i == controlIndex) {
            control.start(q, order, acked, name + " ctrl");
        } else if (i < dataQueues) {
            int p = i / 2;
            if (i % 2 == 0) {
                try {
                    rx[p].start(q, order);
                } catch (LinuxException e) {
                    q.ring().markBroken("cannot watch the receive wake-up of " + name + ": " + e.getMessage());
                    return;
                }
                network.pairStarted(p);
            } else {
                tx[p].start(q, order, acked, network, rx[p]);
            }
        }
    }

    @Override
    public void process(Queue q) {
        int i = q.index();
        try {
            if (i == controlIndex) {
                control.process();
            } else if (i < dataQueues) {
                int p = i / 2;
                if (i % 2 == 0) {
                    RxPath r = rx[p];
                    r.drainBacklog();
                    network.receiveReady(p);
                    r.flush();
                } else {
                    tx[p].process();
                }
            }
        } catch (RuntimeException e) {
            // A bug here must not take the worker down or spin on the same buffers: stop this queue, loudly.
            LOG.error("{}: queue {} failed", name, i, e);
            q.ring().markBroken(name + " device failure: " + e);
        }
    }

    @Override
    public void queueStopped(Queue q) {
        int i = q.index();
        if (i == controlIndex) {
            control.stop();
        } else if (i < dataQueues) {
            int p = i / 2;
            if (i % 2 == 0) {
                network.pairStopped(p);
                rx[p].stop();
            } else {
                // Frames the driver made available before it stopped the queue still go out: a front-end counts
                // them as sent once they are in the ring.
                try {
                    tx[p].process();
                } catch (RuntimeException e) {
                    LOG.error("{}: sending the last frames of queue {} failed", name, i, e);
                }
                tx[p].stop();
            }
        }
    }

    @Override
    public void deactivate() {
        context = null;
        network.detach();
        for (RxPath r : rx) {
            r.detach();
        }
        LOG.info("{}: inactive; {}", name, counters().summary());
    }

    @Override
    public void close() {
        for (RxPath r : rx) {
            if (r != null) {
                r.close();
            }
        }
        network.close();
    }

    // ---- Statistics ----------------------------------------------------------------------------------

    public NetCounters counters() {
        long txFrames = 0;
        long txBytes = 0;
        long txErrors = 0;
        long rxFrames = 0;
        long rxBytes = 0;
        long rxDropped = 0;
        long rxFiltered = 0;
        for (int p = 0; p < pairs; p++) {
            txFrames += tx[p].frames();
            txBytes += tx[p].bytes();
            txErrors += tx[p].errors();
            rxFrames += rx[p].frames();
            rxBytes += rx[p].bytes();
            rxDropped += rx[p].dropped();
            rxFiltered += rx[p].filtered();
        }
        return new NetCounters(txFrames, txBytes, txErrors, rxFrames, rxBytes, rxDropped, rxFiltered);
    }

    private void setMac(long newMac) {
        mac = newMac;
        filter.setMac(newMac);
    }

    // ---- What the network and the control queue see --------------------------------------------------

    private final class Port implements GuestPort {
        @Override
        public long ackedFeatures() {
            return acked;
        }

        @Override
        public long mac() {
            return mac;
        }

        @Override
        public int queuePairs() {
            return pairs;
        }

        @Override
        public GuestRx rx(int pair) {
            return rx[pair];
        }

        @Override
        public int pickPair(int hash) {
            int n = activePairs;
            int first = Math.floorMod(hash, n);
            for (int k = 0; k < n; k++) {
                int p = (first + k) % n;
                if (rx[p].running()) {
                    return p;
                }
            }
            return -1;
        }
    }

    private final class ControlTarget implements ControlQueue.Target {
        @Override
        public RxFilter filter() {
            return filter;
        }

        @Override
        public void setMac(long newMac) {
            VirtioNetDevice.this.setMac(newMac);
        }

        @Override
        public int queuePairs() {
            return pairs;
        }

        @Override
        public void setActivePairs(int n) {
            activePairs = n;
        }

        @Override
        public void announceAcked() {
            announcePending = false;
        }
    }
}

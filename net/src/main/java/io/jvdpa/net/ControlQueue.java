package io.jvdpa.net;

import io.jvdpa.device.Queue;
import io.jvdpa.memory.Endianness;
import io.jvdpa.virtqueue.ChainReader;
import io.jvdpa.virtqueue.ChainWriter;
import io.jvdpa.virtqueue.DescriptorChain;
import io.jvdpa.virtqueue.DeviceQueue;
import java.nio.BufferUnderflowException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control virtqueue (VIRTIO 1.2 §5.1.6.5): each buffer is {u8 class, u8 command, data...} readable and a u8
 * ack writable. Multi-byte data is in the driver's byte order. A command the driver did not negotiate, or with
 * data too short or out of range, is answered VIRTIO_NET_ERR and changes nothing.
 */
final class ControlQueue {
    private static final Logger LOG = LoggerFactory.getLogger(ControlQueue.class);

    static final int OK = 0;
    static final int ERR = 1;

    static final int CLASS_RX = 0;
    static final int RX_PROMISC = 0;
    static final int RX_ALLMULTI = 1;
    static final int RX_ALLUNI = 2;
    static final int RX_NOMULTI = 3;
    static final int RX_NOUNI = 4;
    static final int RX_NOBCAST = 5;

    static final int CLASS_MAC = 1;
    static final int MAC_TABLE_SET = 0;
    static final int MAC_ADDR_SET = 1;

    static final int CLASS_VLAN = 2;
    static final int VLAN_ADD = 0;
    static final int VLAN_DEL = 1;

    static final int CLASS_ANNOUNCE = 3;
    static final int ANNOUNCE_ACK = 0;

    static final int CLASS_MQ = 4;
    static final int MQ_VQ_PAIRS_SET = 0;

    /** What the commands change. */
    interface Target {
        RxFilter filter();

        void setMac(long mac);

        int queuePairs();

        void setActivePairs(int pairs);

        void announceAcked();
    }

    private final Target target;
    private final DescriptorChain chain = new DescriptorChain();
    private Queue queue;
    private DeviceQueue ring;
    private Endianness order = Endianness.LITTLE;
    private long acked;

    ControlQueue(Target target) {
        this.target = target;
    }

    void start(Queue q, Endianness deviceOrder, long ackedFeatures, String label) {
        queue = q;
        ring = q.ring();
        ring.setLabel(label);
        order = deviceOrder;
        acked = ackedFeatures;
    }

    void stop() {
        ring = null;
    }

    void process() {
        DeviceQueue r = ring;
        if (r == null) {
            return;
        }
        while (r.pop(chain)) {
            int ack;
            try {
                ack = execute(chain.reader());
            } catch (BufferUnderflowException e) {
                ack = ERR;
            }
            ChainWriter w = chain.writer();
            if (w.remaining() > 0) {
                w.writeU8(ack);
            }
            r.addUsed(chain);
        }
        queue.publish();
    }

    private boolean acked(int feature) {
        return VirtioNetFeatures.has(acked, feature);
    }

    private int execute(ChainReader in) {
        int cls = in.readU8();
        int cmd = in.readU8();
        int ack = switch (cls) {
            case CLASS_RX -> rx(cmd, in);
            case CLASS_MAC -> mac(cmd, in);
            case CLASS_VLAN -> vlan(cmd, in);
            case CLASS_ANNOUNCE -> announce(cmd);
            case CLASS_MQ -> mq(cmd, in);
            default -> ERR;
        };
        if (ack != OK) {
            LOG.debug("control command class {} command {} refused", cls, cmd);
        }
        return ack;
    }

    private int rx(int cmd, ChainReader in) {
        if (!acked(VirtioNetFeatures.CTRL_RX)) {
            return ERR;
        }
        boolean on = in.readU8() != 0;
        RxFilter f = target.filter();
        boolean extra = acked(VirtioNetFeatures.CTRL_RX_EXTRA);
        switch (cmd) {
            case RX_PROMISC -> f.setPromisc(on);
            case RX_ALLMULTI -> f.setAllMulti(on);
            case RX_ALLUNI -> {
                if (!extra) return ERR;
                f.setAllUni(on);
            }
            case RX_NOMULTI -> {
                if (!extra) return ERR;
                f.setNoMulti(on);
            }
            case RX_NOUNI -> {
                if (!extra) return ERR;
                f.setNoUni(on);
            }
            case RX_NOBCAST -> {
                if (!extra) return ERR;
                f.setNoBcast(on);
            }
            default -> {
                return ERR;
            }
        }
        return OK;
    }

    private int mac(int cmd, ChainReader in) {
        if (cmd == MAC_ADDR_SET) {
            if (!acked(VirtioNetFeatures.CTRL_MAC_ADDR)) {
                return ERR;
            }
            long mac = readMac(in);
            if (MacAddress.isMulticast(mac)) {
                return ERR;
            }
            target.setMac(mac);
            return OK;
        }
        if (cmd == MAC_TABLE_SET) {
            if (!acked(VirtioNetFeatures.CTRL_RX)) {
                return ERR;
            }
            long[] unicast = readTable(in);
            long[] multicast = unicast == null ? null : readTable(in);
            if (multicast == null) {
                return ERR;
            }
            target.filter().setTables(unicast, multicast);
            return OK;
        }
        return ERR;
    }

    /** struct virtio_net_ctrl_mac { u32 entries; u8 macs[entries][6]; }, or null if it overruns the buffer. */
    private long[] readTable(ChainReader in) {
        long entries = in.readU32(order);
        if (entries * 6 > in.remaining()) {
            return null;
        }
        long[] table = new long[(int) entries];
        for (int i = 0; i < table.length; i++) {
            table[i] = readMac(in);
        }
        return table;
    }

    private static long readMac(ChainReader in) {
        long mac = 0;
        for (int i = 0; i < 6; i++) {
            mac = (mac << 8) | in.readU8();
        }
        return mac;
    }

    private int vlan(int cmd, ChainReader in) {
        if (!acked(VirtioNetFeatures.CTRL_VLAN)) {
            return ERR;
        }
        int vid = in.readU16(order);
        if (vid >= 4096) {
            return ERR;
        }
        switch (cmd) {
            case VLAN_ADD -> target.filter().addVlan(vid);
            case VLAN_DEL -> target.filter().removeVlan(vid);
            default -> {
                return ERR;
            }
        }
        return OK;
    }

    private int announce(int cmd) {
        if (!acked(VirtioNetFeatures.GUEST_ANNOUNCE) || cmd != ANNOUNCE_ACK) {
            return ERR;
        }
        target.announceAcked();
        return OK;
    }

    private int mq(int cmd, ChainReader in) {
        if (!acked(VirtioNetFeatures.MQ) || cmd != MQ_VQ_PAIRS_SET) {
            return ERR;
        }
        int pairs = in.readU16(order);
        if (pairs < 1 || pairs > target.queuePairs()) {
            return ERR;
        }
        target.setActivePairs(pairs);
        return OK;
    }
}

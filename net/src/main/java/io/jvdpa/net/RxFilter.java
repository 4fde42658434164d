package io.jvdpa.net;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The receive filter a driver programs through the control queue (VIRTIO 1.2 §5.1.6.5.1-3): promiscuous and
 * all-multicast modes, the extra modes of CTRL_RX_EXTRA, the MAC address tables and the VLAN table.
 *
 * <p>Without CTRL_RX the device accepts every frame. With it the device starts promiscuous, as QEMU's does, until
 * the driver says otherwise: drivers turn promiscuous mode off once they have programmed their tables. Outside
 * promiscuous mode the VLAN table filters tagged frames when CTRL_VLAN was negotiated; it starts empty.
 *
 * <p>Written by the control queue's thread, read by every receive path: the modes and tables are one immutable
 * {@link Modes} value swapped with a volatile store; VLAN bits are an atomic array.
 */
public final class RxFilter {
    /** The most entries a MAC table keeps; a longer table means "accept all of that kind", like QEMU. */
    public static final int MAC_TABLE_ENTRIES = 64;
    private static final int ETH_P_8021Q = 0x8100;

    record Modes(boolean promisc, boolean allMulti, boolean allUni, boolean noMulti, boolean noUni, boolean noBcast,
                 long[] unicast, boolean unicastOverflow, long[] multicast, boolean multicastOverflow) {
        static final Modes INITIAL = new Modes(true, false, false, false, false, false, new long[0], false,
                new long[0], false);
    }

    private volatile boolean active;
    private volatile boolean vlanFiltering;
    private volatile long mac;
    private volatile Modes modes = Modes.INITIAL;
    private final AtomicLongArray vlans = new AtomicLongArray(4096 / 64);

    /** A driver negotiated: filter by what it acked, from the initial state. */
    public void reset(long ackedFeatures, long deviceMac) {
        modes = Modes.INITIAL;
        for (int i = 0; i < vlans.length(); i++) {
            vlans.set(i, 0);
        }
        mac = deviceMac;
        vlanFiltering = VirtioNetFeatures.has(ackedFeatures, VirtioNetFeatures.CTRL_VLAN);
        active = VirtioNetFeatures.has(ackedFeatures, VirtioNetFeatures.CTRL_RX);
    }

    /** Whether the guest wants {@code frame}. */
    public boolean accepts(Packet frame) {
        if (!active || frame.length() < Packet.ETH_HEADER) {
            return true;
        }
        Modes m = modes;
        if (m.promisc) {
            return true;
        }
        if (vlanFiltering && frame.etherType() == ETH_P_8021Q && frame.length() >= Packet.ETH_HEADER + 2
                && !vlanAllowed(frame.u16(Packet.ETH_HEADER) & 0xFFF)) {
            return false;
        }
        long dst = frame.destination();
        if (MacAddress.isBroadcast(dst)) {
            return !m.noBcast;
        }
        if (MacAddress.isMulticast(dst)) {
            if (m.noMulti) {
                return false;
            }
            return m.allMulti || m.multicastOverflow || contains(m.multicast, dst);
        }
        if (m.noUni) {
            return false;
        }
        return m.allUni || m.unicastOverflow || dst == mac || contains(m.unicast, dst);
    }

    private static boolean contains(long[] table, long mac) {
        for (long entry : table) {
            if (entry == mac) {
                return true;
            }
        }
        return false;
    }

    public boolean vlanAllowed(int vid) {
        return (vlans.get(vid >>> 6) & (1L << (vid & 63))) != 0;
    }

    // ---- Changes from the control queue -----------------------------------------------------------------

    public void setPromisc(boolean on) {
        Modes m = modes;
        modes = new Modes(on, m.allMulti, m.allUni, m.noMulti, m.noUni, m.noBcast, m.unicast, m.unicastOverflow,
                m.multicast, m.multicastOverflow);
    }

    public void setAllMulti(boolean on) {
        Modes m = modes;
        modes = new Modes(m.promisc, on, m.allUni, m.noMulti, m.noUni, m.noBcast, m.unicast, m.unicastOverflow,
                m.multicast, m.multicastOverflow);
    }

    public void setAllUni(boolean on) {
        Modes m = modes;
        modes = new Modes(m.promisc, m.allMulti, on, m.noMulti, m.noUni, m.noBcast, m.unicast, m.unicastOverflow,
                m.multicast, m.multicastOverflow);
    }

    public void setNoMulti(boolean on) {
        Modes m = modes;
        modes = new Modes(m.promisc, m.allMulti, m.allUni, on, m.noUni, m.noBcast, m.unicast, m.unicastOverflow,
                m.multicast, m.multicastOverflow);
    }

    public void setNoUni(boolean on) {
        Modes m = modes;
        modes = new Modes(m.promisc, m.allMulti, m.allUni, m.noMulti, on, m.noBcast, m.unicast, m.unicastOverflow,
                m.multicast, m.multicastOverflow);
    }

    public void setNoBcast(boolean on) {
        Modes m = modes;
        modes = new Modes(m.promisc, m.allMulti, m.allUni, m.noMulti, m.noUni, on, m.unicast, m.unicastOverflow,
                m.multicast, m.multicastOverflow);
    }

    /** VIRTIO_NET_CTRL_MAC_TABLE_SET: tables longer than {@link #MAC_TABLE_ENTRIES} mean "accept all". */
    public void setTables(long[] unicast, long[] multicast) {
        Modes m = modes;
        boolean uOver = unicast.length > MAC_TABLE_ENTRIES;
        boolean mOver = multicast.length > MAC_TABLE_ENTRIES;
        modes = new Modes(m.promisc, m.allMulti, m.allUni, m.noMulti, m.noUni, m.noBcast,
                uOver ? new long[0] : unicast.clone(), uOver, mOver ? new long[0] : multicast.clone(), mOver);
    }

    public void setMac(long newMac) {
        mac = newMac;
    }

    public void addVlan(int vid) {
        vlans.getAndUpdate(vid >>> 6, w -> w | (1L << (vid & 63)));
    }

    public void removeVlan(int vid) {
        vlans.getAndUpdate(vid >>> 6, w -> w & ~(1L << (vid & 63)));
    }

    public boolean promisc() {
        return modes.promisc;
    }

    public boolean allMulti() {
        return modes.allMulti;
    }

    public long[] unicastTable() {
        return modes.unicast.clone();
    }

    public long[] multicastTable() {
        return modes.multicast.clone();
    }

    @Override
    public String toString() {
        Modes m = modes;
        return "RxFilter[active=" + active + ", promisc=" + m.promisc + ", allmulti=" + m.allMulti + ", unicast="
                + Arrays.toString(m.unicast) + ", multicast=" + Arrays.toString(m.multicast) + "]";
    }
}

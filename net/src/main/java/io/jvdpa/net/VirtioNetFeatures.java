package io.jvdpa.net;

import java.util.Map;

/** Feature bits of the network device (VIRTIO 1.2 §5.1.3), by their spec names. */
public final class VirtioNetFeatures {
    public static final int CSUM = 0;
    public static final int GUEST_CSUM = 1;
    public static final int CTRL_GUEST_OFFLOADS = 2;
    public static final int MTU = 3;
    public static final int MAC = 5;
    public static final int GUEST_TSO4 = 7;
    public static final int GUEST_TSO6 = 8;
    public static final int GUEST_ECN = 9;
    public static final int GUEST_UFO = 10;
    public static final int HOST_TSO4 = 11;
    public static final int HOST_TSO6 = 12;
    public static final int HOST_ECN = 13;
    public static final int HOST_UFO = 14;
    public static final int MRG_RXBUF = 15;
    public static final int STATUS = 16;
    public static final int CTRL_VQ = 17;
    public static final int CTRL_RX = 18;
    public static final int CTRL_VLAN = 19;
    public static final int CTRL_RX_EXTRA = 20;
    public static final int GUEST_ANNOUNCE = 21;
    public static final int MQ = 22;
    public static final int CTRL_MAC_ADDR = 23;

    /** The offloads only a network that carries a virtio-net header (a TAP device) can honour. */
    public static final long OFFLOADS = bits(GUEST_TSO4, GUEST_TSO6, GUEST_ECN, GUEST_UFO, HOST_TSO4, HOST_TSO6,
            HOST_ECN, HOST_UFO);

    public static final Map<Integer, String> NAMES = Map.ofEntries(
            Map.entry(CSUM, "CSUM"), Map.entry(GUEST_CSUM, "GUEST_CSUM"),
            Map.entry(CTRL_GUEST_OFFLOADS, "CTRL_GUEST_OFFLOADS"), Map.entry(MTU, "MTU"), Map.entry(MAC, "MAC"),
            Map.entry(GUEST_TSO4, "GUEST_TSO4"), Map.entry(GUEST_TSO6, "GUEST_TSO6"), Map.entry(GUEST_ECN, "GUEST_ECN"),
            Map.entry(GUEST_UFO, "GUEST_UFO"), Map.entry(HOST_TSO4, "HOST_TSO4"), Map.entry(HOST_TSO6, "HOST_TSO6"),
            Map.entry(HOST_ECN, "HOST_ECN"), Map.entry(HOST_UFO, "HOST_UFO"), Map.entry(MRG_RXBUF, "MRG_RXBUF"),
            Map.entry(STATUS, "STATUS"), Map.entry(CTRL_VQ, "CTRL_VQ"), Map.entry(CTRL_RX, "CTRL_RX"),
            Map.entry(CTRL_VLAN, "CTRL_VLAN"), Map.entry(CTRL_RX_EXTRA, "CTRL_RX_EXTRA"),
            Map.entry(GUEST_ANNOUNCE, "GUEST_ANNOUNCE"), Map.entry(MQ, "MQ"), Map.entry(CTRL_MAC_ADDR, "CTRL_MAC_ADDR"));

    private VirtioNetFeatures() {}

    public static long bits(int... numbers) {
        long b = 0;
        for (int n : numbers) {
            b |= 1L << n;
        }
        return b;
    }

    public static boolean has(long features, int bit) {
        return (features & (1L << bit)) != 0;
    }
}

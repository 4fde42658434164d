package io.jvdpa.net;

/**
 * What a net device is made with.
 *
 * @param name       for logs and labels ("net0")
 * @param mac        the MAC address in config space (48 bits, see {@link MacAddress})
 * @param queuePairs receive/transmit queue pairs, 1 to {@link VirtioNetDevice#MAX_QUEUE_PAIRS}; more than one
 *                   offers MQ
 * @param mtu        the MTU in config space (VIRTIO_NET_F_MTU), 68 to 65535
 */
public record NetDeviceConfig(String name, long mac, int queuePairs, int mtu) {
    public static final long DEFAULT_MAC = 0x52_54_00_12_34_56L;
    public static final int DEFAULT_MTU = 1500;

    public NetDeviceConfig {
        if (mac < 0 || mac > MacAddress.BROADCAST) {
            throw new IllegalArgumentException("MAC address out of range: 0x" + Long.toHexString(mac));
        }
        if (MacAddress.isMulticast(mac)) {
            throw new IllegalArgumentException("MAC address " + MacAddress.format(mac)
                    + " is a multicast address; a device needs a unicast one");
        }
        if (queuePairs < 1 || queuePairs > VirtioNetDevice.MAX_QUEUE_PAIRS) {
            throw new IllegalArgumentException("queue pairs " + queuePairs + " outside 1.."
                    + VirtioNetDevice.MAX_QUEUE_PAIRS);
        }
        if (mtu < 68 || mtu > 65535) {
            throw new IllegalArgumentException("MTU " + mtu + " outside 68..65535");
        }
    }

    public static NetDeviceConfig defaults(String name) {
        return new NetDeviceConfig(name, DEFAULT_MAC, 1, DEFAULT_MTU);
    }

    public NetDeviceConfig withMac(long newMac) {
        return new NetDeviceConfig(name, newMac, queuePairs, mtu);
    }

    public NetDeviceConfig withQueuePairs(int pairs) {
        return new NetDeviceConfig(name, mac, pairs, mtu);
    }

    public NetDeviceConfig withMtu(int newMtu) {
        return new NetDeviceConfig(name, mac, queuePairs, newMtu);
    }
}

package io.jvdpa.cli.probe;

import io.jvdpa.vhostuser.ProtocolFeature;

/**
 * Which device a back-end serves. vhost-user has no message that says; the offered bits tell: net and blk
 * number their feature bits from 0 each, but some bits and protocol features belong to one of them only.
 *
 * @param type     "net", "blk" or "unknown"
 * @param evidence the bits that decided
 */
record DeviceTypeGuess(String type, String evidence) {
    /** Net bits blk does not define (CTRL_RX..CTRL_MAC_ADDR, VIRTIO 1.2 5.1.3). */
    private static final long NET_ONLY = 0x3fL << 18;
    /** blk's SEG_MAX, BLK_SIZE, FLUSH, TOPOLOGY, CONFIG_WCE, DISCARD, WRITE_ZEROES (VIRTIO 1.2 5.2.3). */
    private static final long BLK_TYPICAL = 1L << 2 | 1L << 6 | 1L << 9 | 1L << 10 | 1L << 11 | 1L << 13 | 1L << 14;

    static DeviceTypeGuess of(long features, long protocolFeatures) {
        long netProtocol = protocolFeatures & ProtocolFeature.maskOf(ProtocolFeature.RARP, ProtocolFeature.NET_MTU);
        if (netProtocol != 0) {
            return new DeviceTypeGuess("net", "protocol features " + String.join(", ", ProtocolFeature.names(netProtocol))
                    + " are a network device's");
        }
        if ((features & NET_ONLY) != 0) {
            return new DeviceTypeGuess("net", "feature bits " + bits(features & NET_ONLY)
                    + " exist for a network device only");
        }
        if (Long.bitCount(features & BLK_TYPICAL) >= 2) {
            return new DeviceTypeGuess("blk", "feature bits " + bits(features & BLK_TYPICAL)
                    + " are a block device's (SEG_MAX, BLK_SIZE, FLUSH, TOPOLOGY, CONFIG_WCE, DISCARD, WRITE_ZEROES)");
        }
        return new DeviceTypeGuess("unknown", "the offered bits fit neither net nor blk; name the type with --type");
    }

    private static String bits(long mask) {
        StringBuilder s = new StringBuilder();
        for (int b = 0; b < 64; b++) {
            if ((mask & (1L << b)) != 0) {
                s.append(s.isEmpty() ? "" : ",").append(b);
            }
        }
        return s.toString();
    }
}

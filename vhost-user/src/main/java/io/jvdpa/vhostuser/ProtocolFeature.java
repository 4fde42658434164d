package io.jvdpa.vhostuser;

import java.util.ArrayList;
import java.util.List;

/** vhost-user protocol feature bits (VHOST_USER_PROTOCOL_F_*). */
public enum ProtocolFeature {
    MQ(0),
    LOG_SHMFD(1),
    RARP(2),
    REPLY_ACK(3),
    NET_MTU(4),
    BACKEND_REQ(5),
    CROSS_ENDIAN(6),
    CRYPTO_SESSION(7),
    PAGEFAULT(8),
    CONFIG(9),
    BACKEND_SEND_FD(10),
    HOST_NOTIFIER(11),
    INFLIGHT_SHMFD(12),
    RESET_DEVICE(13),
    INBAND_NOTIFICATIONS(14),
    CONFIGURE_MEM_SLOTS(15),
    STATUS(16);

    public final int bit;

    ProtocolFeature(int bit) {
        this.bit = bit;
    }

    public long mask() {
        return 1L << bit;
    }

    public boolean in(long features) {
        return (features & mask()) != 0;
    }

    public static long maskOf(ProtocolFeature... features) {
        long m = 0;
        for (ProtocolFeature f : features) {
            m |= f.mask();
        }
        return m;
    }

    /** Names of the bits set, unknown ones as numbers, for logs and the probe. */
    public static List<String> names(long features) {
        List<String> out = new ArrayList<>();
        for (int bit = 0; bit < 64; bit++) {
            if ((features & (1L << bit)) != 0) {
                String name = String.valueOf(bit);
                for (ProtocolFeature f : values()) {
                    if (f.bit == bit) {
                        name = f.name();
                    }
                }
                out.add(name);
            }
        }
        return out;
    }
}

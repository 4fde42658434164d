package io.jvdpa.blk;

import java.util.Map;

/** virtio-blk's numbers (VIRTIO 1.2 §5.2): feature bits, request types, status values, sizes. */
public final class VirtioBlk {
    private VirtioBlk() {}

    /** The virtio device id of a block device. */
    public static final int DEVICE_ID = 2;

    // Feature bits (§5.2.3, legacy ones from §5.2.3.1).
    public static final int F_BARRIER = 0;
    public static final int F_SIZE_MAX = 1;
    public static final int F_SEG_MAX = 2;
    public static final int F_GEOMETRY = 4;
    public static final int F_RO = 5;
    public static final int F_BLK_SIZE = 6;
    public static final int F_SCSI = 7;
    public static final int F_FLUSH = 9;
    public static final int F_TOPOLOGY = 10;
    public static final int F_CONFIG_WCE = 11;
    public static final int F_MQ = 12;
    public static final int F_DISCARD = 13;
    public static final int F_WRITE_ZEROES = 14;
    public static final int F_LIFETIME = 15;
    public static final int F_SECURE_ERASE = 16;

    public static final Map<Integer, String> FEATURE_NAMES = Map.ofEntries(
            Map.entry(F_BARRIER, "BARRIER"), Map.entry(F_SIZE_MAX, "SIZE_MAX"), Map.entry(F_SEG_MAX, "SEG_MAX"),
            Map.entry(F_GEOMETRY, "GEOMETRY"), Map.entry(F_RO, "RO"), Map.entry(F_BLK_SIZE, "BLK_SIZE"),
            Map.entry(F_SCSI, "SCSI"), Map.entry(F_FLUSH, "FLUSH"), Map.entry(F_TOPOLOGY, "TOPOLOGY"),
            Map.entry(F_CONFIG_WCE, "CONFIG_WCE"), Map.entry(F_MQ, "MQ"), Map.entry(F_DISCARD, "DISCARD"),
            Map.entry(F_WRITE_ZEROES, "WRITE_ZEROES"), Map.entry(F_LIFETIME, "LIFETIME"),
            Map.entry(F_SECURE_ERASE, "SECURE_ERASE"));

    // Request types (§5.2.6).
    public static final int T_IN = 0;
    public static final int T_OUT = 1;
    public static final int T_FLUSH = 4;
    public static final int T_GET_ID = 8;
    public static final int T_GET_LIFETIME = 10;
    public static final int T_DISCARD = 11;
    public static final int T_WRITE_ZEROES = 13;
    public static final int T_SECURE_ERASE = 14;

    // Status values (§5.2.6).
    public static final int S_OK = 0;
    public static final int S_IOERR = 1;
    public static final int S_UNSUPP = 2;

    /** struct virtio_blk_req's header: type, reserved (legacy: ioprio), sector. */
    public static final int HEADER_SIZE = 16;
    /** Sectors are 512 bytes whatever blk_size says (§5.2.6). */
    public static final int SECTOR_SIZE = 512;
    public static final int SECTOR_SHIFT = 9;
    /** GET_ID's answer: the serial, zero-padded, not necessarily NUL-terminated. */
    public static final int ID_BYTES = 20;
    /** struct virtio_blk_discard_write_zeroes: sector, num_sectors, flags. */
    public static final int DISCARD_SEGMENT_SIZE = 16;
    /** The unmap bit in a discard / write zeroes segment's flags. */
    public static final int DWZ_F_UNMAP = 1;

    public static boolean has(long features, int bit) {
        return (features & (1L << bit)) != 0;
    }
}

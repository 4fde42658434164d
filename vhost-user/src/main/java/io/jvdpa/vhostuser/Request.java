package io.jvdpa.vhostuser;

/**
 * Front-end requests, with the ids of QEMU's docs/interop/vhost-user.rst. One constant per row of the
 * spec's table; {@link #replies} marks the requests that always carry a reply body.
 */
public enum Request {
    GET_FEATURES(1, true),
    SET_FEATURES(2, false),
    SET_OWNER(3, false),
    RESET_OWNER(4, false),
    SET_MEM_TABLE(5, false),
    SET_LOG_BASE(6, false), // replies only with LOG_SHMFD; handled where it is served
    SET_LOG_FD(7, false),
    SET_VRING_NUM(8, false),
    SET_VRING_ADDR(9, false),
    SET_VRING_BASE(10, false),
    GET_VRING_BASE(11, true),
    SET_VRING_KICK(12, false),
    SET_VRING_CALL(13, false),
    SET_VRING_ERR(14, false),
    GET_PROTOCOL_FEATURES(15, true),
    SET_PROTOCOL_FEATURES(16, false),
    GET_QUEUE_NUM(17, true),
    SET_VRING_ENABLE(18, false),
    SEND_RARP(19, false),
    NET_SET_MTU(20, false),
    SET_BACKEND_REQ_FD(21, false),
    IOTLB_MSG(22, true),
    SET_VRING_ENDIAN(23, false),
    GET_CONFIG(24, true),
    SET_CONFIG(25, false),
    CREATE_CRYPTO_SESSION(26, true),
    CLOSE_CRYPTO_SESSION(27, false),
    POSTCOPY_ADVISE(28, true),
    POSTCOPY_LISTEN(29, false),
    POSTCOPY_END(30, true),
    GET_INFLIGHT_FD(31, true),
    SET_INFLIGHT_FD(32, false),
    GPU_SET_SOCKET(33, false),
    RESET_DEVICE(34, false),
    VRING_KICK(35, false),
    GET_MAX_MEM_SLOTS(36, true),
    ADD_MEM_REG(37, false),
    REM_MEM_REG(38, false),
    SET_STATUS(39, false),
    GET_STATUS(40, true);

    private static final Request[] BY_ID = new Request[64];

    static {
        for (Request r : values()) {
            BY_ID[r.id] = r;
        }
    }

    public final int id;
    public final boolean replies;

    Request(int id, boolean replies) {
        this.id = id;
        this.replies = replies;
    }

    /** The request with this id, or null for an id the spec does not define. */
    public static Request of(int id) {
        return id > 0 && id < BY_ID.length ? BY_ID[id] : null;
    }
}

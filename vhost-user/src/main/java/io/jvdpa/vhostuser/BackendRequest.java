package io.jvdpa.vhostuser;

/** Requests the back-end sends to the front-end on the channel given by SET_BACKEND_REQ_FD. */
public enum BackendRequest {
    IOTLB_MSG(1),
    CONFIG_CHANGE_MSG(2),
    VRING_HOST_NOTIFIER_MSG(3),
    VRING_CALL(4),
    VRING_ERR(5);

    public final int id;

    BackendRequest(int id) {
        this.id = id;
    }
}

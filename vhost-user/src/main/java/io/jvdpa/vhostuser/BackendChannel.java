package io.jvdpa.vhostuser;

import java.io.IOException;

/**
 * The back-end's own requests to the front-end (the channel of SET_BACKEND_REQ_FD), e.g. telling QEMU the
 * config space changed. Any thread may send; requests go out one at a time.
 */
public final class BackendChannel implements AutoCloseable {
    private final MessageChannel channel;
    private final Message msg = new Message();
    private final Message reply = new Message();

    BackendChannel(MessageChannel channel) {
        this.channel = channel;
    }

    /**
     * CONFIG_CHANGE_MSG: the front-end should fetch the config space again (GET_CONFIG) and tell the guest.
     * With {@code waitForAck} (REPLY_ACK negotiated) returns only when the front-end has handled it.
     */
    public synchronized void configChanged(boolean waitForAck) throws IOException {
        msg.begin(BackendRequest.CONFIG_CHANGE_MSG.id, waitForAck ? Message.FLAG_NEED_REPLY : 0).size(0);
        channel.send(msg);
        if (waitForAck) {
            if (!channel.receive(reply)) {
                throw new IOException("front-end closed the back-end channel");
            }
            reply.closeFds();
            if (reply.size() >= 8 && reply.u64(0) != 0) {
                throw new IOException("front-end failed CONFIG_CHANGE_MSG with status " + reply.u64(0));
            }
        }
    }

    @Override
    public void close() {
        channel.close();
    }
}

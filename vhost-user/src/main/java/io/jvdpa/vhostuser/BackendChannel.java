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
    /** Held only while a request goes out, so that a sender that does not wait never waits for one that does. */
    private final Object sending = new Object();
    /** Held by the one sender waiting for its ack: acks come back in the order of the requests. */
    private final Object awaitingAck = new Object();

    BackendChannel(MessageChannel channel) {
        this.channel = channel;
    }

    /**
     * CONFIG_CHANGE_MSG: the front-end should fetch the config space again (GET_CONFIG) and tell the guest.
     * With {@code waitForAck} (REPLY_ACK negotiated) returns only when the front-end has handled it.
     */
    public void configChanged(boolean waitForAck) throws IOException {
        if (!waitForAck) {
            send(0);
            return;
        }
        synchronized (awaitingAck) {
            send(Message.FLAG_NEED_REPLY);
            if (!channel.receive(reply)) {
                throw new IOException("front-end closed the back-end channel");
            }
            reply.closeFds();
            if (reply.size() >= 8 && reply.u64(0) != 0) {
                throw new IOException("front-end failed CONFIG_CHANGE_MSG with status " + reply.u64(0));
            }
        }
    }

    private void send(int flags) throws IOException {
        synchronized (sending) {
            msg.begin(BackendRequest.CONFIG_CHANGE_MSG.id, flags).size(0);
            channel.send(msg);
        }
    }

    @Override
    public void close() {
        channel.close();
    }
}

package io.jvdpa.vhostuser;

import io.jvdpa.sys.Fd;
import io.jvdpa.sys.ReceivedFds;
import io.jvdpa.sys.UnixSocket;
import java.io.IOException;

/** Moves whole {@link Message}s over a vhost-user socket, fds included. */
public final class MessageChannel implements AutoCloseable {
    private final UnixSocket socket;
    private final ReceivedFds received = new ReceivedFds(Message.MAX_FDS);

    public MessageChannel(UnixSocket socket) {
        this.socket = socket;
    }

    public UnixSocket socket() {
        return socket;
    }

    /**
     * Reads the next message into {@code msg}; false when the peer closed cleanly between messages.
     *
     * @throws java.io.EOFException when the peer closed in the middle of a message
     * @throws IOException          when the header announces a payload larger than any the spec defines
     */
    public boolean receive(Message msg) throws IOException {
        msg.closeFds();
        try {
            if (!socket.recvExactly(msg.buffer.asSlice(0, Message.HEADER_SIZE), received)) {
                return false;
            }
            int size = msg.size();
            if (size < 0 || size > Message.MAX_PAYLOAD) {
                throw new IOException("message " + msg.requestId() + " announces a payload of "
                        + Integer.toUnsignedString(size) + " bytes (at most " + Message.MAX_PAYLOAD + ")");
            }
            if (size > 0 && !socket.recvExactly(msg.payload.asSlice(0, size), received)) {
                throw new java.io.EOFException("peer closed after the header of " + msg);
            }
            for (int i = 0; i < received.count(); i++) {
                msg.fds.add(received.take(i));
            }
            return true;
        } finally {
            received.clear();
        }
    }

    /** Sends {@code msg} with its fds attached; the fds stay owned by the message's owner. */
    public void send(Message msg) throws IOException {
        int[] fds = new int[msg.fds.size()];
        for (int i = 0; i < fds.length; i++) {
            fds[i] = msg.fds.get(i).value();
        }
        socket.send(msg.buffer.asSlice(0, Message.HEADER_SIZE + msg.size()), fds);
    }

    /** Wraps the socket a front-end handed over with SET_BACKEND_REQ_FD. */
    BackendChannel backendChannel(Fd fd) {
        return new BackendChannel(new MessageChannel(UnixSocket.adopt(fd)));
    }

    @Override
    public void close() {
        received.close();
        socket.close();
    }
}

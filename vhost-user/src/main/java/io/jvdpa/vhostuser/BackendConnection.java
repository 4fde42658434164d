package io.jvdpa.vhostuser;

import io.jvdpa.sys.Fd;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one front-end: reads each request, checks its size and fds against the spec, calls the
 * {@link BackendHandler}, and replies. Runs on its own thread until the front-end goes away or breaks the
 * protocol; either way the handler hears {@link BackendHandler#disconnected()} and every fd is closed.
 *
 * <p>A request with wrong values gets a failure reply when the front-end asked for one (REPLY_ACK), or when
 * the request has a reply that can say so (GET_CONFIG); otherwise the connection is closed, since the
 * front-end would go on believing the request took effect.
 */
public final class BackendConnection implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BackendConnection.class);

    private static final java.util.Set<Request> CARRIES_FDS = java.util.EnumSet.of(Request.SET_MEM_TABLE,
            Request.SET_LOG_BASE, Request.SET_LOG_FD, Request.SET_VRING_KICK, Request.SET_VRING_CALL,
            Request.SET_VRING_ERR, Request.SET_BACKEND_REQ_FD, Request.SET_INFLIGHT_FD, Request.ADD_MEM_REG,
            Request.REM_MEM_REG);

    private final MessageChannel channel;
    private final BackendHandler handler;
    private final String name;
    private final Message msg = new Message();
    private final Message reply = new Message();
    private long protocolFeatures;

    public BackendConnection(MessageChannel channel, BackendHandler handler, String name) {
        this.channel = channel;
        this.handler = handler;
        this.name = name;
    }

    /** Serves requests until the front-end disconnects or breaks the protocol. Never throws. */
    public void serve() {
        try {
            while (true) {
                if (!channel.receive(msg)) {
                    LOG.info("{}: front-end disconnected", name);
                    return;
                }
                try {
                    if (!handle()) {
                        return;
                    }
                } finally {
                    msg.closeFds();
                }
            }
        } catch (EOFException e) {
            LOG.warn("{}: front-end disconnected in mid-message: {}", name, e.getMessage());
        } catch (IOException e) {
            LOG.warn("{}: connection failed: {}", name, e.getMessage());
        } catch (RuntimeException e) {
            if (channel.socket().isOpen()) {
                LOG.error("{}: unexpected failure, closing the connection", name, e);
            } else {
                LOG.info("{}: connection closed by this side", name);
            }
        } finally {
            msg.closeFds();
            try {
                handler.disconnected();
            } catch (RuntimeException e) {
                LOG.error("{}: resetting the device after disconnect failed", name, e);
            }
            channel.close();
        }
    }

    /** Handles {@link #msg}; false when the connection must close. */
    private boolean handle() throws IOException {
        Request request = Request.of(msg.requestId());
        boolean ack = msg.needsReply() && ProtocolFeature.REPLY_ACK.in(protocolFeatures);
        if (request == null) {
            return fail(null, ack, "unknown request id " + msg.requestId());
        }
        LOG.debug("{}: {}", name, msg);
        try {
            if (!msg.fds().isEmpty() && !CARRIES_FDS.contains(request)) {
                throw new VhostUserException(request.name() + " carries " + msg.fds().size() + " unexpected fds");
            }
            boolean replied = dispatch(request);
            if (ack && !replied) {
                sendAck(request, 0);
            }
            return true;
        } catch (VhostUserException e) {
            return fail(request, ack, e.getMessage());
        }
    }

    private boolean fail(Request request, boolean ack, String why) throws IOException {
        String what = request == null ? "request" : request.name();
        if (request == Request.GET_CONFIG) {
            LOG.warn("{}: {} refused: {}", name, what, why);
            reply.begin(request.id, Message.FLAG_REPLY).size(0);
            channel.send(reply);
            return true;
        }
        if (ack && (request == null || !request.replies)) {
            LOG.warn("{}: {} refused: {}", name, what, why);
            sendAck(request, 1);
            return true;
        }
        LOG.error("{}: {} refused: {}; closing the connection (the front-end cannot be told otherwise)",
                name, what, why);
        return false;
    }

    private void sendAck(Request request, long status) throws IOException {
        reply.begin(request == null ? msg.requestId() : request.id, Message.FLAG_REPLY).u64Payload(status);
        channel.send(reply);
    }

    private void replyU64(Request request, long value) throws IOException {
        reply.begin(request.id, Message.FLAG_REPLY).u64Payload(value);
        channel.send(reply);
    }

    /** Calls the handler for one request; true if a reply was sent. */
    private boolean dispatch(Request r) throws IOException, VhostUserException {
        switch (r) {
            case GET_FEATURES -> replyU64(r, handler.features());
            case SET_FEATURES -> handler.setFeatures(u64(r));
            case GET_PROTOCOL_FEATURES -> replyU64(r, handler.protocolFeatures());
            case SET_PROTOCOL_FEATURES -> {
                long f = u64(r);
                handler.setProtocolFeatures(f);
                protocolFeatures = f;
            }
            case SET_OWNER -> handler.setOwner();
            case RESET_OWNER -> handler.resetOwner();
            case SET_MEM_TABLE -> setMemTable(r);
            case SET_LOG_BASE -> {
                expectSize(r, 16);
                handler.setLogBase(msg.u64(0), msg.u64(8), takeFd(r, true));
                if (ProtocolFeature.LOG_SHMFD.in(protocolFeatures)) {
                    replyU64(r, 0);
                    return true;
                }
            }
            case SET_LOG_FD -> handler.setLogFd(takeFd(r, true));
            case SET_VRING_NUM -> handler.setVringNum(state(r).index(), state(r).num());
            case SET_VRING_ADDR -> {
                expectSize(r, 40);
                handler.setVringAddr(msg.vringAddr());
            }
            case SET_VRING_BASE -> handler.setVringBase(state(r).index(), state(r).num());
            case GET_VRING_BASE -> {
                int index = state(r).index();
                long base = handler.getVringBase(index);
                reply.begin(r.id, Message.FLAG_REPLY).vringState(index, base);
                channel.send(reply);
                return true;
            }
            case SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR -> vringFd(r);
            case GET_QUEUE_NUM -> replyU64(r, handler.queueNum());
            case SET_VRING_ENABLE -> handler.setVringEnable(state(r).index(), state(r).num() != 0);
            case SEND_RARP -> {
                expectSize(r, 8);
                byte[] mac = new byte[6];
                for (int i = 0; i < 6; i++) {
                    mac[i] = msg.payload().get(java.lang.foreign.ValueLayout.JAVA_BYTE, i);
                }
                handler.sendRarp(mac);
            }
            case NET_SET_MTU -> handler.netSetMtu((int) u64(r));
            case SET_BACKEND_REQ_FD -> handler.setBackendChannel(channel.backendChannel(takeFd(r, false)));
            case SET_VRING_ENDIAN -> handler.setVringEndian(state(r).index(), state(r).num());
            case GET_CONFIG -> {
                ConfigRequest c = config(r);
                byte[] data = handler.getConfig(c.offset, c.size, c.flags);
                if (data.length != c.size) {
                    throw new VhostUserException("config space of " + data.length + " bytes, " + c.size + " asked");
                }
                reply.begin(r.id, Message.FLAG_REPLY).putU32(0, c.offset).putU32(4, c.size).putU32(8, c.flags)
                        .size(12 + c.size);
                java.lang.foreign.MemorySegment.copy(data, 0, reply.payload(),
                        java.lang.foreign.ValueLayout.JAVA_BYTE, 12, data.length);
                channel.send(reply);
                return true;
            }
            case SET_CONFIG -> {
                ConfigRequest c = config(r);
                byte[] data = msg.payload().asSlice(12, c.size).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                handler.setConfig(c.offset, c.flags, data);
            }
            case GET_INFLIGHT_FD -> {
                expectAtLeast(r, 20);
                BackendHandler.InflightArea area = handler.getInflightFd(msg.inflight());
                try {
                    reply.begin(r.id, Message.FLAG_REPLY).putInflight(area.spec()).size(msg.size());
                    reply.fds().add(area.fd());
                    channel.send(reply);
                } finally {
                    area.fd().close();
                    reply.fds().clear();
                }
                return true;
            }
            case SET_INFLIGHT_FD -> {
                expectAtLeast(r, 20);
                handler.setInflightFd(msg.inflight(), takeFd(r, false));
            }
            case RESET_DEVICE -> handler.resetDevice();
            case GET_MAX_MEM_SLOTS -> replyU64(r, handler.maxMemSlots());
            case ADD_MEM_REG -> {
                expectSize(r, 40);
                handler.addMemReg(msg.region(8), takeFd(r, false));
            }
            case REM_MEM_REG -> {
                expectSize(r, 40);
                handler.remMemReg(msg.region(8)); // an fd sent anyway is closed unused, as the spec allows
            }
            case SET_STATUS -> handler.setStatus((int) u64(r));
            case GET_STATUS -> replyU64(r, handler.getStatus());
            default -> throw new VhostUserException(r.name() + " is not supported by this back-end");
        }
        return false;
    }

    private void setMemTable(Request r) throws VhostUserException {
        expectAtLeast(r, 8);
        int n = msg.u32(0);
        if (n < 1 || n > Message.MAX_FDS) {
            throw new VhostUserException("SET_MEM_TABLE with " + Integer.toUnsignedString(n) + " regions (1 to 8 allowed)");
        }
        expectSize(r, 8 + 32 * n);
        if (msg.fds().size() != n) {
            throw new VhostUserException("SET_MEM_TABLE with " + n + " regions but " + msg.fds().size() + " fds");
        }
        List<MemoryRegionSpec> regions = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            regions.add(msg.region(8 + 32L * i));
        }
        List<Fd> fds = new ArrayList<>(msg.fds());
        msg.fds().clear();
        handler.setMemTable(regions, fds);
    }

    private void vringFd(Request r) throws VhostUserException {
        long v = u64(r);
        int index = (int) (v & 0xff);
        boolean noFd = (v & 0x100) != 0;
        if ((v & ~0x1ffL) != 0) {
            throw new VhostUserException(r.name() + " payload 0x" + Long.toHexString(v) + " has unknown bits");
        }
        Fd fd = noFd ? null : takeFd(r, false);
        if (noFd && !msg.fds().isEmpty()) {
            throw new VhostUserException(r.name() + " says no fd but carries " + msg.fds().size());
        }
        switch (r) {
            case SET_VRING_KICK -> handler.setVringKick(index, fd);
            case SET_VRING_CALL -> handler.setVringCall(index, fd);
            default -> handler.setVringErr(index, fd);
        }
    }

    private long u64(Request r) throws VhostUserException {
        expectSize(r, 8);
        return msg.u64(0);
    }

    private Message.VringState state(Request r) throws VhostUserException {
        expectSize(r, 8);
        return msg.vringState();
    }

    private record ConfigRequest(int offset, int size, int flags) {}

    private ConfigRequest config(Request r) throws VhostUserException {
        expectAtLeast(r, 12);
        int offset = msg.u32(0);
        int size = msg.u32(4);
        if (offset < 0 || size < 0 || offset > 256 || size > 256 - offset) {
            throw new VhostUserException(r.name() + " offset " + Integer.toUnsignedString(offset) + " size "
                    + Integer.toUnsignedString(size) + " outside the 256-byte config space");
        }
        if (r == Request.SET_CONFIG) {
            expectSize(r, 12 + size);
        }
        return new ConfigRequest(offset, size, msg.u32(8));
    }

    private Fd takeFd(Request r, boolean optional) throws VhostUserException {
        List<Fd> fds = msg.fds();
        if (fds.size() > 1 || (fds.isEmpty() && !optional)) {
            throw new VhostUserException(r.name() + " needs exactly one fd, got " + fds.size());
        }
        return fds.isEmpty() ? null : fds.removeFirst();
    }

    private void expectSize(Request r, int size) throws VhostUserException {
        if (msg.size() != size) {
            throw new VhostUserException(r.name() + " payload of " + msg.size() + " bytes, expected " + size);
        }
    }

    private void expectAtLeast(Request r, int size) throws VhostUserException {
        if (msg.size() < size) {
            throw new VhostUserException(r.name() + " payload of " + msg.size() + " bytes, expected at least " + size);
        }
    }

    @Override
    public void close() {
        channel.close();
    }
}

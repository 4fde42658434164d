package io.jvdpa.vhostuser;

import io.jvdpa.sys.Fd;
import io.jvdpa.sys.UnixSocket;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The front-end side of vhost-user: typed calls for each request, replies checked. Works against any
 * back-end (jvdpa's, DPDK's vhost PMD, qemu-storage-daemon); used by the probe, tests and benchmarks.
 *
 * <p>Once REPLY_ACK is negotiated every request without a reply body asks for an acknowledgement, so a
 * back-end's refusal surfaces as a {@link VhostUserException} at the request that caused it.
 */
public final class Frontend implements AutoCloseable {
    private final MessageChannel channel;
    private final Message msg = new Message();
    private final Message reply = new Message();
    private long protocolFeatures;

    private Frontend(MessageChannel channel) {
        this.channel = channel;
    }

    /** Connects to a back-end listening on {@code path}, retrying for up to {@code timeout}. */
    public static Frontend connect(Path path, Duration timeout) throws IOException {
        UnixSocket s = UnixSocket.connect(path, timeout);
        s.setReceiveTimeout(Duration.ofSeconds(10));
        return new Frontend(new MessageChannel(s));
    }

    /** Serves over an already connected socket (e.g. one accepted in front-end server mode). */
    public static Frontend over(UnixSocket socket) {
        return new Frontend(new MessageChannel(socket));
    }

    public long protocolFeaturesNegotiated() {
        return protocolFeatures;
    }

    // ---- requests with a reply body ------------------------------------------------------------------

    public long getFeatures() throws IOException, VhostUserException {
        return requestU64(Request.GET_FEATURES);
    }

    public long getProtocolFeatures() throws IOException, VhostUserException {
        return requestU64(Request.GET_PROTOCOL_FEATURES);
    }

    public int getQueueNum() throws IOException, VhostUserException {
        return (int) requestU64(Request.GET_QUEUE_NUM);
    }

    public int getMaxMemSlots() throws IOException, VhostUserException {
        return (int) requestU64(Request.GET_MAX_MEM_SLOTS);
    }

    public int getStatus() throws IOException, VhostUserException {
        return (int) requestU64(Request.GET_STATUS);
    }

    /** Stops ring {@code index} and returns its state (next avail index; packed: with wrap counters). */
    public long getVringBase(int index) throws IOException, VhostUserException {
        msg.begin(Request.GET_VRING_BASE.id, 0).vringState(index, 0);
        exchange(Request.GET_VRING_BASE);
        expectReplySize(Request.GET_VRING_BASE, 8);
        return Integer.toUnsignedLong(reply.u32(4));
    }

    /** The config space bytes [offset, offset+size); a back-end's refusal (empty reply) throws. */
    public byte[] getConfig(int offset, int size) throws IOException, VhostUserException {
        msg.begin(Request.GET_CONFIG.id, 0).putU32(0, offset).putU32(4, size).putU32(8, 0).size(12 + size);
        msg.payload().asSlice(12, size).fill((byte) 0);
        exchange(Request.GET_CONFIG);
        if (reply.size() != 12 + size) {
            throw new VhostUserException("GET_CONFIG refused by the back-end (reply of " + reply.size() + " bytes)");
        }
        return reply.payload().asSlice(12, size).toArray(ValueLayout.JAVA_BYTE);
    }

    /** GET_INFLIGHT_FD: the caller owns the returned fd. */
    public BackendHandler.InflightArea getInflightFd(int numQueues, int queueSize) throws IOException, VhostUserException {
        msg.begin(Request.GET_INFLIGHT_FD.id, 0).putInflight(new InflightSpec(0, 0, numQueues, queueSize)).size(24);
        exchange(Request.GET_INFLIGHT_FD);
        if (reply.fds().size() != 1) {
            throw new VhostUserException("GET_INFLIGHT_FD reply carries " + reply.fds().size() + " fds");
        }
        Fd fd = reply.fds().removeFirst();
        return new BackendHandler.InflightArea(fd, reply.inflight());
    }

    // ---- requests without a reply body -----------------------------------------------------------------

    public void setFeatures(long features) throws IOException, VhostUserException {
        send(msg.begin(Request.SET_FEATURES.id, 0).u64Payload(features), Request.SET_FEATURES);
    }

    public void setProtocolFeatures(long features) throws IOException, VhostUserException {
        send(msg.begin(Request.SET_PROTOCOL_FEATURES.id, 0).u64Payload(features), Request.SET_PROTOCOL_FEATURES);
        protocolFeatures = features;
    }

    public void setOwner() throws IOException, VhostUserException {
        send(msg.begin(Request.SET_OWNER.id, 0), Request.SET_OWNER);
    }

    public void resetDevice() throws IOException, VhostUserException {
        send(msg.begin(Request.RESET_DEVICE.id, 0), Request.RESET_DEVICE);
    }

    /** SET_MEM_TABLE; the fds stay owned by the caller. */
    public void setMemTable(List<MemoryRegionSpec> regions, List<Fd> fds) throws IOException, VhostUserException {
        msg.begin(Request.SET_MEM_TABLE.id, 0).putU32(0, regions.size()).putU32(4, 0);
        for (int i = 0; i < regions.size(); i++) {
            msg.putRegion(8 + 32L * i, regions.get(i));
        }
        msg.size(8 + 32 * regions.size());
        msg.fds().addAll(fds);
        try {
            send(msg, Request.SET_MEM_TABLE);
        } finally {
            msg.fds().clear();
        }
    }

    public void addMemReg(MemoryRegionSpec region, Fd fd) throws IOException, VhostUserException {
        msg.begin(Request.ADD_MEM_REG.id, 0).putU64(0, 0).putRegion(8, region).size(40);
        msg.fds().add(fd);
        try {
            send(msg, Request.ADD_MEM_REG);
        } finally {
            msg.fds().clear();
        }
    }

    public void remMemReg(MemoryRegionSpec region) throws IOException, VhostUserException {
        send(msg.begin(Request.REM_MEM_REG.id, 0).putU64(0, 0).putRegion(8, region).size(40), Request.REM_MEM_REG);
    }

    public void setVringNum(int index, int num) throws IOException, VhostUserException {
        send(msg.begin(Request.SET_VRING_NUM.id, 0).vringState(index, num), Request.SET_VRING_NUM);
    }

    public void setVringBase(int index, long base) throws IOException, VhostUserException {
        send(msg.begin(Request.SET_VRING_BASE.id, 0).vringState(index, base), Request.SET_VRING_BASE);
    }

    public void setVringAddr(VringAddr a) throws IOException, VhostUserException {
        msg.begin(Request.SET_VRING_ADDR.id, 0).putU32(0, a.index()).putU32(4, a.flags()).putU64(8, a.desc())
                .putU64(16, a.used()).putU64(24, a.avail()).putU64(32, a.log()).size(40);
        send(msg, Request.SET_VRING_ADDR);
    }

    /** SET_VRING_ENDIAN (CROSS_ENDIAN): {@code big} for a big-endian legacy ring. */
    public void setVringEndian(int index, boolean big) throws IOException, VhostUserException {
        send(msg.begin(Request.SET_VRING_ENDIAN.id, 0).vringState(index, big ? 1 : 0), Request.SET_VRING_ENDIAN);
    }

    public void setVringEnable(int index, boolean enable) throws IOException, VhostUserException {
        send(msg.begin(Request.SET_VRING_ENABLE.id, 0).vringState(index, enable ? 1 : 0), Request.SET_VRING_ENABLE);
    }

    /** SET_VRING_KICK with {@code fd}, or the "no fd: poll" flag when null. The fd stays the caller's. */
    public void setVringKick(int index, Fd fd) throws IOException, VhostUserException {
        vringFd(Request.SET_VRING_KICK, index, fd);
    }

    public void setVringCall(int index, Fd fd) throws IOException, VhostUserException {
        vringFd(Request.SET_VRING_CALL, index, fd);
    }

    public void setVringErr(int index, Fd fd) throws IOException, VhostUserException {
        vringFd(Request.SET_VRING_ERR, index, fd);
    }

    private void vringFd(Request r, int index, Fd fd) throws IOException, VhostUserException {
        msg.begin(r.id, 0).u64Payload((index & 0xff) | (fd == null ? 0x100 : 0));
        if (fd != null) {
            msg.fds().add(fd);
        }
        try {
            send(msg, r);
        } finally {
            msg.fds().clear();
        }
    }

    public void setConfig(int offset, byte[] data) throws IOException, VhostUserException {
        msg.begin(Request.SET_CONFIG.id, 0).putU32(0, offset).putU32(4, data.length).putU32(8, 0)
                .size(12 + data.length);
        MemorySegment.copy(data, 0, msg.payload(), ValueLayout.JAVA_BYTE, 12, data.length);
        send(msg, Request.SET_CONFIG);
    }

    public void setStatus(int status) throws IOException, VhostUserException {
        send(msg.begin(Request.SET_STATUS.id, 0).u64Payload(status), Request.SET_STATUS);
    }

    public void setInflightFd(InflightSpec spec, Fd fd) throws IOException, VhostUserException {
        msg.begin(Request.SET_INFLIGHT_FD.id, 0).putInflight(spec).size(24);
        msg.fds().add(fd);
        try {
            send(msg, Request.SET_INFLIGHT_FD);
        } finally {
            msg.fds().clear();
        }
    }

    public void setLogBase(long size, long offset, Fd fd) throws IOException, VhostUserException {
        msg.begin(Request.SET_LOG_BASE.id, 0).putU64(0, size).putU64(8, offset).size(16);
        msg.fds().add(fd);
        try {
            channel.send(msg);
            if (ProtocolFeature.LOG_SHMFD.in(protocolFeatures)) {
                receiveReply(Request.SET_LOG_BASE);
            }
        } finally {
            msg.fds().clear();
        }
    }

    public void setBackendReqFd(Fd fd) throws IOException, VhostUserException {
        msg.begin(Request.SET_BACKEND_REQ_FD.id, 0);
        msg.fds().add(fd);
        try {
            send(msg, Request.SET_BACKEND_REQ_FD);
        } finally {
            msg.fds().clear();
        }
    }

    /** Sends raw bytes as a message: for tests of how back-ends take malformed input. */
    public void sendRaw(int requestId, int flags, byte[] payload, List<Fd> fds) throws IOException {
        msg.begin(requestId, flags).size(payload.length);
        MemorySegment.copy(payload, 0, msg.payload(), ValueLayout.JAVA_BYTE, 0, payload.length);
        msg.fds().addAll(fds);
        try {
            channel.send(msg);
        } finally {
            msg.fds().clear();
        }
    }

    /**
     * Sends raw bytes with NEED_REPLY and returns the acknowledgement's status (0 success): for tests of how a
     * back-end refuses malformed input while keeping the connection.
     */
    public long sendRawForStatus(int requestId, byte[] payload, List<Fd> fds) throws IOException, VhostUserException {
        sendRaw(requestId, Message.FLAG_NEED_REPLY, payload, fds);
        if (!channel.receive(reply)) {
            throw new VhostUserException("back-end closed the connection after request " + requestId);
        }
        reply.closeFds();
        if (reply.requestId() != requestId || reply.size() != 8) {
            throw new VhostUserException("expected an acknowledgement of request " + requestId + ", got " + reply);
        }
        return reply.u64(0);
    }

    // ---- plumbing ---------------------------------------------------------------------------------------

    private long requestU64(Request r) throws IOException, VhostUserException {
        msg.begin(r.id, 0).size(0);
        exchange(r);
        expectReplySize(r, 8);
        return reply.u64(0);
    }

    private void exchange(Request r) throws IOException, VhostUserException {
        channel.send(msg);
        receiveReply(r);
    }

    private void send(Message m, Request r) throws IOException, VhostUserException {
        boolean ack = ProtocolFeature.REPLY_ACK.in(protocolFeatures);
        if (ack) {
            m.buffer.set(Message.U32, 4, m.flags() | Message.FLAG_NEED_REPLY);
        }
        channel.send(m);
        if (ack) {
            receiveReply(r);
            expectReplySize(r, 8);
            long status = reply.u64(0);
            if (status != 0) {
                throw new VhostUserException(r.name() + " refused by the back-end (status " + status + ")");
            }
        }
    }

    private void receiveReply(Request r) throws IOException, VhostUserException {
        if (!channel.receive(reply)) {
            throw new VhostUserException("back-end closed the connection after " + r.name());
        }
        if (reply.requestId() != r.id || (reply.flags() & Message.FLAG_REPLY) == 0) {
            reply.closeFds();
            throw new VhostUserException("expected a reply to " + r.name() + ", got " + reply);
        }
    }

    private void expectReplySize(Request r, int size) throws VhostUserException {
        if (reply.size() != size) {
            throw new VhostUserException(r.name() + " reply of " + reply.size() + " bytes, expected " + size);
        }
    }

    @Override
    public void close() {
        reply.closeFds();
        channel.close();
    }
}

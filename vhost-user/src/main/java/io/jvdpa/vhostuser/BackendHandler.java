package io.jvdpa.vhostuser;

import io.jvdpa.sys.Fd;
import java.util.List;

/**
 * What a back-end does for each front-end request: one method per message of the vhost-user table.
 * {@link BackendConnection} parses and validates the wire format and calls these on its own thread, one at a
 * time. A method throws {@link VhostUserException} when the request's values are wrong; the connection then
 * answers with a failure where the protocol allows, or closes.
 *
 * <p>Fds passed in are owned by the handler from then on (it must close them when done); a null fd means
 * the front-end set the "no fd" flag (polling).
 */
public interface BackendHandler {
    long features();

    void setFeatures(long features) throws VhostUserException;

    long protocolFeatures();

    void setProtocolFeatures(long features) throws VhostUserException;

    void setOwner() throws VhostUserException;

    void resetOwner() throws VhostUserException;

    void setMemTable(List<MemoryRegionSpec> regions, List<Fd> fds) throws VhostUserException;

    void setLogBase(long size, long offset, Fd fd) throws VhostUserException;

    void setLogFd(Fd fd) throws VhostUserException;

    void setVringNum(int index, long num) throws VhostUserException;

    void setVringAddr(VringAddr addr) throws VhostUserException;

    void setVringBase(int index, long base) throws VhostUserException;

    /** Stops the ring and returns where the next avail entry would have been read from. */
    long getVringBase(int index) throws VhostUserException;

    void setVringKick(int index, Fd fd) throws VhostUserException;

    void setVringCall(int index, Fd fd) throws VhostUserException;

    void setVringErr(int index, Fd fd) throws VhostUserException;

    int queueNum();

    void setVringEnable(int index, boolean enable) throws VhostUserException;

    void sendRarp(byte[] mac) throws VhostUserException;

    void netSetMtu(int mtu) throws VhostUserException;

    void setBackendChannel(BackendChannel channel) throws VhostUserException;

    /** SET_VRING_ENDIAN: num 0 is little-endian, 1 big-endian; anything else is refused. */
    void setVringEndian(int index, long num) throws VhostUserException;

    byte[] getConfig(int offset, int size, int flags) throws VhostUserException;

    void setConfig(int offset, int flags, byte[] data) throws VhostUserException;

    /** GET_INFLIGHT_FD: allocates the shared area and returns its fd (ownership passes to the caller) and layout. */
    InflightArea getInflightFd(InflightSpec request) throws VhostUserException;

    void setInflightFd(InflightSpec spec, Fd fd) throws VhostUserException;

    void resetDevice() throws VhostUserException;

    int maxMemSlots();

    void addMemReg(MemoryRegionSpec region, Fd fd) throws VhostUserException;

    void remMemReg(MemoryRegionSpec region) throws VhostUserException;

    void setStatus(int status) throws VhostUserException;

    int getStatus();

    /** The front-end went away (or the connection was closed on an error): forget everything it set up. */
    void disconnected();

    /** The inflight area a back-end hands out: its fd and the spec describing it. */
    record InflightArea(Fd fd, InflightSpec spec) {}
}

package io.jvdpa.device;

import io.jvdpa.sys.Fd;
import io.jvdpa.sys.LinuxException;
import io.jvdpa.sys.Mapping;
import io.jvdpa.sys.MemFd;
import io.jvdpa.vhostuser.InflightSpec;
import io.jvdpa.vhostuser.VhostUserException;
import java.lang.foreign.MemorySegment;

/**
 * The shared memory in which a device records the requests it has taken and not yet completed, so that a
 * restarted back-end can resubmit them (GET/SET_INFLIGHT_FD). The front-end keeps the memfd across back-end
 * restarts; this class maps it and hands each queue its slice ({@link InflightLayout}).
 */
final class InflightRegion implements AutoCloseable {
    static final int MAX_QUEUE_SIZE = 32768;

    private final Mapping mapping;
    private final Fd memfd;
    private final int numQueues;
    private final int queueSize;
    private final long stride;

    private InflightRegion(Mapping mapping, Fd memfd, int numQueues, int queueSize, long stride) {
        this.mapping = mapping;
        this.memfd = memfd;
        this.numQueues = numQueues;
        this.queueSize = queueSize;
        this.stride = stride;
    }

    /** GET_INFLIGHT_FD: a zeroed memfd with room for {@code numQueues} queues of {@code queueSize}. */
    static InflightRegion create(int numQueues, int queueSize, boolean packed) throws VhostUserException {
        checkShape(numQueues, queueSize);
        long stride = InflightLayout.queueRegionSize(queueSize, packed);
        long size = stride * numQueues;
        Fd fd = null;
        try {
            fd = MemFd.create("jvdpa-inflight", size);
            return new InflightRegion(Mapping.map(fd, 0, size), fd, numQueues, queueSize, stride);
        } catch (LinuxException | IllegalArgumentException e) {
            if (fd != null) {
                fd.close();
            }
            throw new VhostUserException("GET_INFLIGHT_FD: cannot create the inflight area of " + size + " bytes: "
                    + e.getMessage());
        }
    }

    /**
     * SET_INFLIGHT_FD: maps the area the front-end kept. Each queue's slice is {@code mmapSize / numQueues} bytes,
     * whatever the back-end that created it chose, as long as it holds the entries. Takes ownership of {@code fd}.
     */
    static InflightRegion map(InflightSpec spec, Fd fd) throws VhostUserException {
        try (fd) {
            checkShape(spec.numQueues(), spec.queueSize());
            long stride = spec.mmapSize() / spec.numQueues();
            if (spec.mmapSize() <= 0 || spec.mmapSize() % spec.numQueues() != 0
                    || stride < InflightLayout.queueRegionSize(spec.queueSize(), false)) {
                throw new VhostUserException("SET_INFLIGHT_FD: %d bytes do not hold %d queues of %d descriptors"
                        .formatted(spec.mmapSize(), spec.numQueues(), spec.queueSize()));
            }
            return new InflightRegion(Mapping.map(fd, spec.mmapOffset(), spec.mmapSize()), null, spec.numQueues(),
                    spec.queueSize(), stride);
        } catch (LinuxException | IllegalArgumentException e) {
            throw new VhostUserException("SET_INFLIGHT_FD " + spec + ": " + e.getMessage());
        }
    }

    private static void checkShape(int numQueues, int queueSize) throws VhostUserException {
        if (numQueues < 1 || numQueues > 0xffff) {
            throw new VhostUserException("inflight area for " + numQueues + " queues");
        }
        if (queueSize < 1 || queueSize > MAX_QUEUE_SIZE || Integer.bitCount(queueSize) != 1) {
            throw new VhostUserException("inflight area for queue size " + queueSize
                    + ": a queue size is a power of two from 1 to 32768");
        }
    }

    /** The spec and a new fd for the front-end (GET_INFLIGHT_FD's reply); only for an area this process created. */
    io.jvdpa.vhostuser.BackendHandler.InflightArea share() throws VhostUserException {
        try {
            return new io.jvdpa.vhostuser.BackendHandler.InflightArea(memfd.duplicate(),
                    new InflightSpec(stride * numQueues, 0, numQueues, queueSize));
        } catch (LinuxException e) {
            throw new VhostUserException("GET_INFLIGHT_FD: " + e.getMessage());
        }
    }

    int numQueues() {
        return numQueues;
    }

    int queueSize() {
        return queueSize;
    }

    /** Queue {@code index}'s slice, or null if the area has none for it. */
    MemorySegment queueArea(int index) {
        if (index < 0 || index >= numQueues) {
            return null;
        }
        return mapping.segment().asSlice(stride * index, stride);
    }

    @Override
    public void close() {
        mapping.close();
        if (memfd != null) {
            memfd.close();
        }
    }

    @Override
    public String toString() {
        return "InflightRegion[" + numQueues + " queues of " + queueSize + ", " + stride + " bytes each]";
    }
}

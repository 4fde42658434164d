package io.jvdpa.vhostuser;

import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.EventFd;
import io.jvdpa.sys.Fd;
import io.jvdpa.virtqueue.DriverQueue;
import io.jvdpa.virtqueue.RingLayout;
import io.jvdpa.virtqueue.RingState;
import io.jvdpa.virtqueue.VirtqueueFeatures;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A complete front-end in a few calls, as QEMU would drive a back-end for one guest: negotiate, share guest
 * RAM, set up rings (split or packed; modern little-endian, or legacy in either order through
 * SET_VRING_ENDIAN), then post buffers and reap them. For tests, the probe and the benchmarks.
 */
public final class DriverSession implements AutoCloseable {
    private static final long VERSION_1 = 1L << 32;
    private static final long RING_PACKED = 1L << 34;
    private static final long PROTOCOL_FEATURES = 1L << 30;
    private static final long LOG_ALL = 1L << 26;

    private final Frontend frontend;
    private final GuestRam ram;
    private final List<DriverRing> rings = new ArrayList<>();
    /** Each ring's addresses as given, and the guest-physical address of its device area. */
    private final Map<Integer, RingAddresses> addresses = new TreeMap<>();
    private long features;
    private long offered;
    private long protocolFeatures;

    private DriverSession(Frontend frontend, GuestRam ram) {
        this.frontend = frontend;
        this.ram = ram;
    }

    /** Connects, and shares {@code ramSize} bytes of guest RAM once features are negotiated. */
    public static DriverSession connect(Path socket, long ramSize) throws IOException {
        Frontend f = Frontend.connect(socket, Duration.ofSeconds(10));
        try {
            return new DriverSession(f, new GuestRam(ramSize));
        } catch (IOException e) {
            f.close();
            throw e;
        }
    }

    /** A session over a socket already connected (e.g. accepted by a front-end that listens, client-mode back-ends). */
    public static DriverSession over(io.jvdpa.sys.UnixSocket socket, long ramSize) throws IOException {
        socket.setReceiveTimeout(Duration.ofSeconds(10));
        Frontend f = Frontend.over(socket);
        try {
            return new DriverSession(f, new GuestRam(ramSize));
        } catch (IOException e) {
            f.close();
            throw e;
        }
    }

    public Frontend frontend() {
        return frontend;
    }

    public GuestRam ram() {
        return ram;
    }

    public long offeredFeatures() {
        return offered;
    }

    public long features() {
        return features;
    }

    public long protocolFeatures() {
        return protocolFeatures;
    }

    /**
     * GET_FEATURES, protocol features (the intersection of {@code wantedProtocol} and what is offered),
     * SET_OWNER, SET_FEATURES with {@code wanted} masked by what is offered, and SET_MEM_TABLE.
     */
    public long negotiate(long wanted, long wantedProtocol) throws IOException, VhostUserException {
        offered = frontend.getFeatures();
        if ((offered & PROTOCOL_FEATURES) != 0) {
            protocolFeatures = frontend.getProtocolFeatures() & wantedProtocol;
            frontend.setProtocolFeatures(protocolFeatures);
        }
        frontend.setOwner();
        features = (wanted & offered) | (offered & PROTOCOL_FEATURES);
        frontend.setFeatures(features);
        frontend.setMemTable(List.of(ram.region()), List.of(ram.fd()));
        return features;
    }

    public boolean legacy() {
        return (features & VERSION_1) == 0;
    }

    /**
     * Sets up ring {@code index} of {@code size} entries. A legacy session lays the split ring out the legacy
     * way (one 4096-aligned block) and, when {@code order} is big-endian, says so with SET_VRING_ENDIAN.
     */
    public DriverRing setUpRing(int index, int size, Endianness order) throws IOException, VhostUserException {
        return setUpRing(index, size, order, true);
    }

    /**
     * Sets up a legacy ring as {@link #setUpRing} does but without SET_VRING_ENDIAN, as a front-end that states the
     * order for some rings only would: the back-end gives the ring its device-wide order, which this side assumes
     * is {@code order}.
     */
    public DriverRing setUpRingWithoutEndian(int index, int size, Endianness order) throws IOException, VhostUserException {
        return setUpRing(index, size, order, false);
    }

    private DriverRing setUpRing(int index, int size, Endianness order, boolean sayOrder)
            throws IOException, VhostUserException {
        boolean packed = (features & RING_PACKED) != 0;
        Endianness ringOrder = legacy() ? order : Endianness.LITTLE;
        VirtqueueFeatures vf = VirtqueueFeatures.fromFeatureBits(features, size, ringOrder);
        RingLayout layout = packed ? RingLayout.packed(size) : legacy() ? RingLayout.legacy(size) : RingLayout.split(size);
        long block = ram.allocate(layout.byteSize(), Math.max(layout.blockAlign(), 4096));
        ram.at(block, layout.byteSize()).fill((byte) 0);
        DriverQueue queue = DriverQueue.create(vf, layout.areas(ram.at(block, layout.byteSize())), RingState.initial());
        EventFd kick = EventFd.create();
        EventFd call = EventFd.create();
        frontend.setVringNum(index, size);
        // Packed rings start with both wrap counters at 1, which vhost-user carries in bit 15.
        frontend.setVringBase(index, packed ? 0x8000 : 0);
        if (sayOrder && legacy() && (protocolFeatures & ProtocolFeature.CROSS_ENDIAN.mask()) != 0) {
            frontend.setVringEndian(index, order == Endianness.BIG);
        }
        VringAddr addr = new VringAddr(index, 0, ram.userAddr(block + layout.descOffset()),
                ram.userAddr(block + layout.deviceOffset()), ram.userAddr(block + layout.driverOffset()), 0);
        frontend.setVringAddr(addr);
        addresses.put(index, new RingAddresses(addr, block + layout.deviceOffset()));
        frontend.setVringCall(index, call.fd());
        frontend.setVringKick(index, kick.fd());
        if ((features & PROTOCOL_FEATURES) != 0) {
            frontend.setVringEnable(index, true);
        }
        DriverRing ring = new DriverRing(index, queue, kick, call);
        rings.add(ring);
        return ring;
    }

    /**
     * Turns dirty logging on while the rings run, in the order QEMU does when a migration starts
     * (vhost_dev_set_log): SET_LOG_BASE with the log's fd, SET_FEATURES with LOG_ALL added, then SET_VRING_ADDR
     * again for every ring, unchanged but for VHOST_VRING_F_LOG and the used ring's guest-physical address.
     */
    public void startDirtyLog(Fd logFd, long logSize) throws IOException, VhostUserException {
        frontend.setLogBase(logSize, 0, logFd);
        features |= LOG_ALL;
        frontend.setFeatures(features);
        for (RingAddresses r : addresses.values()) {
            VringAddr a = r.addr();
            frontend.setVringAddr(new VringAddr(a.index(), VringAddr.F_LOG, a.desc(), a.used(), a.avail(), r.deviceArea()));
        }
    }

    private record RingAddresses(VringAddr addr, long deviceArea) {}

    /**
     * Tells the back-end the driver is ready, as a guest's DRIVER_OK would (only with the STATUS protocol
     * feature; some back-ends process no ring before it). A legacy driver has no FEATURES_OK.
     */
    public void driverOk() throws IOException, VhostUserException {
        if ((protocolFeatures & ProtocolFeature.STATUS.mask()) != 0) {
            int acknowledgeDriver = 0x1 | 0x2;
            int featuresOk = legacy() ? 0 : 0x8;
            frontend.setStatus(acknowledgeDriver | featuresOk | 0x4);
        }
    }

    @Override
    public void close() {
        frontend.close();
        rings.forEach(DriverRing::close);
        ram.close();
    }
}

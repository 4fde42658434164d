package io.jvdpa.blk;

import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.EventFd;
import io.jvdpa.vhostuser.BackendHandler;
import io.jvdpa.vhostuser.Frontend;
import io.jvdpa.vhostuser.GuestRam;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.vhostuser.VringAddr;
import io.jvdpa.virtqueue.DriverQueue;
import io.jvdpa.virtqueue.RingAreas;
import io.jvdpa.virtqueue.RingLayout;
import io.jvdpa.virtqueue.RingState;
import io.jvdpa.virtqueue.UsedBuffer;
import io.jvdpa.virtqueue.VirtqueueFeatures;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A virtio-blk driver over jvdpa's vhost-user front-end, as a guest kernel and QEMU would be together: it
 * negotiates, shares guest RAM, sets up request queues, lays requests out in guest memory in a chosen way and reaps
 * their status. It can reconnect to a restarted back-end the way QEMU does ({@code reconnect=1}): same guest RAM,
 * same rings, the inflight area handed back with SET_INFLIGHT_FD.
 */
final class BlkDriver implements AutoCloseable {
    static final long VERSION_1 = 1L << 32;
    static final long RING_PACKED = 1L << 34;
    static final long EVENT_IDX = 1L << 29;
    static final long INDIRECT = 1L << 28;
    static final long PROTOCOL_FEATURES = 1L << 30;
    static final long ALL_PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.values());
    /** Every blk feature this driver understands. */
    static final long BLK_FEATURES = bits(VirtioBlk.F_SIZE_MAX, VirtioBlk.F_SEG_MAX, VirtioBlk.F_BLK_SIZE,
            VirtioBlk.F_TOPOLOGY, VirtioBlk.F_FLUSH, VirtioBlk.F_CONFIG_WCE, VirtioBlk.F_MQ, VirtioBlk.F_DISCARD,
            VirtioBlk.F_WRITE_ZEROES, VirtioBlk.F_RO);

    /** A request slot: header and device-readable data in the first half, device-writable bytes in the second. */
    static final int SLOT_SIZE = 2 << 20;
    static final int SLOT_DATA = SLOT_SIZE / 2;
    static final int MAX_DATA = SLOT_DATA - 64;
    static final int QUEUE_SIZE = 64;

    /** How a request's header, data and status are cut into descriptors. */
    enum Layout {
        /** Header and data in one readable descriptor, data and status in one writable one. */
        COMBINED,
        /** Header, data and status each in its own descriptor (legacy drivers without ANY_LAYOUT). */
        LEGACY_FRAMING,
        /** Header split in two, data cut at odd offsets, status alone. */
        SCATTERED,
        /** COMBINED through an indirect table. */
        INDIRECT
    }

    /** A completed request. */
    record Completion(int status, long usedLength, byte[] data) {}

    private final Path socket;
    private final GuestRam ram;
    private final long wanted;
    private final boolean inflight;
    private final Endianness legacyOrder;
    private final List<Ring> rings = new ArrayList<>();
    private final long slots;
    private final int slotCount;
    private final long[] slotGpa;
    private final int[] slotQueue;
    private final Completion[] completions;
    private final int[] expectIn;
    private Frontend frontend;
    private long features;
    private long protocol;
    private BackendHandler.InflightArea inflightArea;

    private record Ring(int index, DriverQueue queue, EventFd kick, EventFd call, long block, RingLayout layout) {}

    /**
     * @param wanted      features to ack (masked by the offer; VERSION_1 absent means a legacy driver)
     * @param legacyOrder byte order of a legacy driver (its rings, headers and config); ignored when modern
     * @param inflight    whether to use the inflight area (GET/SET_INFLIGHT_FD)
     */
    BlkDriver(Path socket, long wanted, Endianness legacyOrder, boolean inflight) throws Exception {
        this.socket = socket;
        this.wanted = wanted;
        this.legacyOrder = legacyOrder;
        this.inflight = inflight;
        this.ram = new GuestRam(96L << 20);
        this.slotCount = 40;
        this.slots = ram.allocate((long) SLOT_SIZE * slotCount, 4096);
        this.slotGpa = new long[slotCount];
        this.slotQueue = new int[slotCount];
        this.completions = new Completion[slotCount];
        this.expectIn = new int[slotCount];
        for (int i = 0; i < slotCount; i++) {
            slotGpa[i] = slots + (long) SLOT_SIZE * i;
            slotQueue[i] = -1;
        }
        connect(false);
    }

    static long bits(int... bits) {
        long f = 0;
        for (int b : bits) {
            f |= 1L << b;
        }
        return f;
    }

    long features() {
        return features;
    }

    boolean legacy() {
        return (features & VERSION_1) == 0;
    }

    /** Byte order of headers and config space. */
    Endianness order() {
        return legacy() ? legacyOrder : Endianness.LITTLE;
    }

    Frontend frontend() {
        return frontend;
    }

    /** Negotiation as QEMU's vhost-user-blk does it; on a reconnect the inflight area goes back to the back-end. */
    private void connect(boolean again) throws Exception {
        frontend = Frontend.connect(socket, Duration.ofSeconds(10));
        long offered = frontend.getFeatures();
        if ((offered & PROTOCOL_FEATURES) != 0) {
            protocol = frontend.getProtocolFeatures() & ALL_PROTOCOL;
            if (!inflight) {
                protocol &= ~ProtocolFeature.INFLIGHT_SHMFD.mask();
            }
            frontend.setProtocolFeatures(protocol);
        }
        frontend.setOwner();
        features = (wanted & offered) | (offered & PROTOCOL_FEATURES);
        frontend.setFeatures(features);
        if (inflight && ProtocolFeature.INFLIGHT_SHMFD.in(protocol)) {
            if (inflightArea == null) {
                inflightArea = frontend.getInflightFd(frontend.getQueueNum(), QUEUE_SIZE);
            }
            frontend.setInflightFd(inflightArea.spec(), inflightArea.fd());
        }
        frontend.setMemTable(List.of(ram.region()), List.of(ram.fd()));
        if (again) {
            for (Ring r : rings) {
                startRing(r, true);
            }
        }
    }

    /** Sets up request queue {@code index}. */
    void setUpRing(int index) throws Exception {
        boolean packed = (features & RING_PACKED) != 0;
        Endianness ringOrder = order();
        VirtqueueFeatures vf = VirtqueueFeatures.fromFeatureBits(features, QUEUE_SIZE, ringOrder);
        RingLayout layout = packed ? RingLayout.packed(QUEUE_SIZE) : legacy() ? RingLayout.legacy(QUEUE_SIZE)
                : RingLayout.split(QUEUE_SIZE);
        long block = ram.allocate(layout.byteSize(), Math.max(layout.blockAlign(), 4096));
        ram.at(block, layout.byteSize()).fill((byte) 0);
        RingAreas areas = layout.areas(ram.at(block, layout.byteSize()));
        DriverQueue queue = DriverQueue.create(vf, areas, RingState.initial());
        if ((features & INDIRECT) != 0) {
            long pool = ram.allocate(16L * QUEUE_SIZE * 8, 16);
            queue.setIndirectPool(ram.at(pool, 16L * QUEUE_SIZE * 8), pool, 8);
        }
        Ring r = new Ring(index, queue, EventFd.create(), EventFd.create(), block, layout);
        rings.add(r);
        startRing(r, false);
    }

    private void startRing(Ring r, boolean again) throws Exception {
        boolean packed = (features & RING_PACKED) != 0;
        int index = r.index();
        frontend.setVringNum(index, QUEUE_SIZE);
        long base;
        if (!again) {
            base = packed ? 0x8000 : 0;
        } else if (packed) {
            base = 0x8000; // QEMU keeps no packed position of its own when the back-end died: a stale one
        } else {
            // QEMU restores a split ring's base to the used index when GET_VRING_BASE could not be asked.
            base = order().u16(ram.at(r.block() + r.layout().deviceOffset(), 4), 2);
        }
        frontend.setVringBase(index, base);
        if (legacy() && ProtocolFeature.CROSS_ENDIAN.in(protocol)) {
            frontend.setVringEndian(index, order() == Endianness.BIG);
        }
        frontend.setVringAddr(new VringAddr(index, 0, ram.userAddr(r.block() + r.layout().descOffset()),
                ram.userAddr(r.block() + r.layout().deviceOffset()), ram.userAddr(r.block() + r.layout().driverOffset()), 0));
        frontend.setVringCall(index, r.call().fd());
        frontend.setVringKick(index, r.kick().fd());
        if ((features & PROTOCOL_FEATURES) != 0) {
            frontend.setVringEnable(index, true);
        }
    }

    /** The back-end went away: connect again as QEMU's reconnect=1 does, keeping guest RAM and rings. */
    void reconnect() throws Exception {
        frontend.close();
        connect(true);
    }

    /** Closes the connection as a dying back-end's peer would see it. */
    void disconnect() {
        frontend.close();
    }

    byte[] config(int size) throws Exception {
        return frontend.getConfig(0, size);
    }

    /** A free request slot, or -1. */
    private int freeSlot() {
        for (int i = 0; i < slotCount; i++) {
            if (slotQueue[i] < 0) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Builds a request in guest memory and makes it available on {@code queue} (not yet kicked).
     *
     * @param out   device-readable data after the header
     * @param in    device-writable bytes before the status byte
     * @return the request's token
     */
    int post(int queue, int type, long sector, byte[] out, int in, Layout layout) {
        return postRaw(queue, header(type, sector), out, in, true, layout);
    }

    /** The 16-byte header in the driver's byte order. */
    byte[] header(int type, long sector) {
        byte[] h = new byte[VirtioBlk.HEADER_SIZE];
        MemorySegment s = MemorySegment.ofArray(h);
        order().putU32(s, 0, Integer.toUnsignedLong(type));
        order().putU64(s, 8, sector);
        return h;
    }

    /** Any request, including malformed ones: {@code header} of any length, status byte or not. */
    int postRaw(int queue, byte[] header, byte[] out, int in, boolean status, Layout layout) {
        int slot = freeSlot();
        if (slot < 0) {
            throw new IllegalStateException("no free request slot");
        }
        if (out.length + header.length > MAX_DATA || in > MAX_DATA) {
            throw new IllegalArgumentException("request too big for a slot");
        }
        long gpa = slotGpa[slot];
        MemorySegment mem = ram.at(gpa, SLOT_SIZE);
        mem.fill((byte) 0x5a);
        long h = gpa;
        long d = gpa + header.length;
        MemorySegment.copy(header, 0, mem, ValueLayout.JAVA_BYTE, 0, header.length);
        MemorySegment.copy(out, 0, mem, ValueLayout.JAVA_BYTE, header.length, out.length);
        long w = gpa + SLOT_DATA;
        List<long[]> readable = new ArrayList<>();
        List<long[]> writable = new ArrayList<>();
        switch (layout) {
            case COMBINED, INDIRECT -> {
                if (header.length + out.length > 0) {
                    readable.add(new long[] {h, header.length + out.length});
                }
                if (in + (status ? 1 : 0) > 0) {
                    writable.add(new long[] {w, in + (status ? 1 : 0)});
                }
            }
            case LEGACY_FRAMING -> {
                if (header.length > 0) {
                    readable.add(new long[] {h, header.length});
                }
                if (out.length > 0) {
                    readable.add(new long[] {d, out.length});
                }
                if (in > 0) {
                    writable.add(new long[] {w, in});
                }
                if (status) {
                    writable.add(new long[] {w + in, 1});
                }
            }
            case SCATTERED -> {
                cut(readable, h, header.length + out.length, 5);
                cut(writable, w, in, 7);
                if (status) {
                    writable.add(new long[] {w + in, 1});
                }
            }
        }
        int n = readable.size() + writable.size();
        long[] addrs = new long[n];
        int[] lens = new int[n];
        int k = 0;
        for (long[] p : readable) {
            addrs[k] = p[0];
            lens[k++] = (int) p[1];
        }
        for (long[] p : writable) {
            addrs[k] = p[0];
            lens[k++] = (int) p[1];
        }
        DriverQueue q = ring(queue).queue();
        boolean posted = layout == Layout.INDIRECT
                ? q.postIndirect(addrs, lens, readable.size(), writable.size(), slot)
                : q.post(addrs, lens, readable.size(), writable.size(), slot);
        if (!posted) {
            throw new IllegalStateException("queue " + queue + " is full");
        }
        slotQueue[slot] = queue;
        completions[slot] = null;
        expectIn[slot] = in;
        return slot;
    }

    /** Cuts {@code [addr, addr+len)} into pieces at odd offsets. */
    private static void cut(List<long[]> into, long addr, long len, int first) {
        long at = 0;
        long piece = first;
        while (at < len) {
            long n = Math.min(piece, len - at);
            into.add(new long[] {addr + at, n});
            at += n;
            piece = piece * 3 + 1;
        }
    }

    /** Publishes everything posted on {@code queue} and kicks. */
    void kick(int queue) throws Exception {
        Ring r = ring(queue);
        r.queue().publish();
        if (r.queue().needsKick()) {
            r.kick().signal();
        }
    }

    /** Posts, kicks and waits: one request start to finish. */
    Completion run(int queue, int type, long sector, byte[] out, int in, Layout layout) throws Exception {
        int token = post(queue, type, sector, out, in, layout);
        kick(queue);
        return await(token);
    }

    /** Waits for request {@code token} to complete (reaping others on the way). */
    Completion await(int token) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        UsedBuffer used = new UsedBuffer();
        while (completions[token] == null) {
            int queue = slotQueue[token];
            if (queue < 0) {
                throw new IllegalStateException("request " + token + " was never posted");
            }
            if (!ring(queue).queue().reap(used)) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("request " + token + " on queue " + queue + " did not complete in 10 s");
                }
                Thread.onSpinWait();
                continue;
            }
            collect(used);
        }
        Completion c = completions[token];
        slotQueue[token] = -1;
        return c;
    }

    private void collect(UsedBuffer used) {
        int slot = used.token();
        if (completions[slot] != null) {
            throw new AssertionError("request " + slot + " completed twice");
        }
        MemorySegment mem = ram.at(slotGpa[slot], SLOT_SIZE);
        int in = expectIn[slot];
        byte[] data = mem.asSlice(SLOT_DATA, in).toArray(ValueLayout.JAVA_BYTE);
        int status = Byte.toUnsignedInt(mem.get(ValueLayout.JAVA_BYTE, SLOT_DATA + in));
        completions[slot] = new Completion(status, used.length(), data);
    }

    /** Whether request {@code token} has completed yet (reaping what is there, without waiting). */
    boolean completed(int token) {
        UsedBuffer used = new UsedBuffer();
        int queue = slotQueue[token];
        while (ring(queue).queue().reap(used)) {
            collect(used);
        }
        return completions[token] != null;
    }

    /** How many used buffer notifications queue {@code index} got since the last call (reads its call fd). */
    long notifications(int index) throws Exception {
        return ring(index).call().drain();
    }

    private Ring ring(int index) {
        for (Ring r : rings) {
            if (r.index() == index) {
                return r;
            }
        }
        throw new IllegalArgumentException("queue " + index + " is not set up");
    }

    long inflightAreaSize() {
        return inflightArea == null ? 0 : inflightArea.spec().mmapSize();
    }

    @Override
    public void close() {
        frontend.close();
        for (Ring r : rings) {
            r.kick().close();
            r.call().close();
        }
        if (inflightArea != null) {
            inflightArea.fd().close();
        }
        ram.close();
    }
}

package io.jvdpa.device;

import io.jvdpa.memory.DirtyBitmap;
import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import io.jvdpa.memory.GuestMemory;
import io.jvdpa.memory.GuestMemoryException;
import io.jvdpa.memory.GuestMemoryMap;
import io.jvdpa.memory.GuestRegion;
import io.jvdpa.sys.EventFd;
import io.jvdpa.sys.Fd;
import io.jvdpa.sys.LinuxException;
import io.jvdpa.sys.Mapping;
import io.jvdpa.vhostuser.BackendChannel;
import io.jvdpa.vhostuser.BackendHandler;
import io.jvdpa.vhostuser.InflightSpec;
import io.jvdpa.vhostuser.MemoryRegionSpec;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.vhostuser.VhostUserException;
import io.jvdpa.vhostuser.VringAddr;
import io.jvdpa.virtqueue.RingState;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The device framework: serves one {@link VirtioDevice} to one front-end at a time over vhost-user.
 *
 * <p>It owns negotiation (offered features = the device's bits plus the ring and transport bits its
 * {@link DeviceProfile} allows), guest memory, rings, kicks and calls, the dirty log, and the
 * {@link DriverModel} that decides, per device and per ring, whether the driver is legacy or modern and
 * in which byte order it speaks. A driver outside the profile is refused here, with a message that names
 * the reason.
 *
 * <p>Requests arrive on the connection thread; everything that touches a running ring is handed to the
 * ring's {@link Worker}.
 */
public final class DeviceBackend implements BackendHandler, DeviceContext {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceBackend.class);
    private static final int MAX_MEM_SLOTS = 32;
    /** virtio status bit DEVICE_NEEDS_RESET. */
    private static final int NEEDS_RESET = 0x40;
    private static final long BASE_PROTOCOL_FEATURES = ProtocolFeature.maskOf(ProtocolFeature.MQ,
            ProtocolFeature.LOG_SHMFD, ProtocolFeature.REPLY_ACK, ProtocolFeature.CONFIG, ProtocolFeature.BACKEND_REQ,
            ProtocolFeature.RESET_DEVICE, ProtocolFeature.CONFIGURE_MEM_SLOTS, ProtocolFeature.STATUS);

    private final String name;
    private final VirtioDevice device;
    private final DeviceProfile profile;
    private final Worker[] workers;
    private final Queue[] queues;
    private final DriverModel driver;
    private final GuestMemoryMap memory = new GuestMemoryMap();
    private final AtomicLong refusals = new AtomicLong();
    private volatile String lastRefusal;

    private long ackedFeatures;
    private long protocolFeatures;
    private volatile int status;
    private boolean active;
    private volatile BackendChannel backendChannel;
    private Mapping logMapping;
    private volatile DirtyLog dirtyLog = DirtyLog.NONE;
    private InflightRegion inflight;

    /**
     * @param workers the data-path threads; queue groups are spread over them round-robin
     */
    public DeviceBackend(String name, VirtioDevice device, DeviceProfile profile, Worker[] workers) {
        this.name = name;
        this.device = device;
        this.profile = profile;
        this.workers = workers.clone();
        this.queues = new Queue[device.maxQueues()];
        for (int i = 0; i < queues.length; i++) {
            queues[i] = new Queue(i);
            queues[i].worker = workers[Math.floorMod(device.workerGroup(i), workers.length)];
        }
        this.driver = new DriverModel(queues.length, Endianness.nativeOrder());
    }

    public String name() {
        return name;
    }

    public VirtioDevice device() {
        return device;
    }

    public DeviceProfile profile() {
        return profile;
    }

    // ---- DeviceContext ------------------------------------------------------------------------------

    @Override
    public DriverModel driver() {
        return driver;
    }

    @Override
    public Queue queue(int index) {
        return queues[index];
    }

    @Override
    public int queueCount() {
        return queues.length;
    }

    @Override
    public void configChanged() {
        configChanged(ProtocolFeature.REPLY_ACK.in(protocolFeatures));
    }

    /**
     * CONFIG_CHANGE_MSG, waiting for the front-end's ack only if {@code waitForAck}. The connection thread must not
     * wait: the front-end answers the message by reading the config (GET_CONFIG) on the main channel, which that
     * thread serves, so waiting there would hold both sides for good.
     */
    private void configChanged(boolean waitForAck) {
        BackendChannel channel = backendChannel;
        if (channel == null || !ProtocolFeature.CONFIG.in(protocolFeatures)) {
            LOG.debug("{}: config changed but the front-end has no back-end channel", name);
            return;
        }
        try {
            channel.configChanged(waitForAck);
        } catch (IOException e) {
            LOG.warn("{}: telling the front-end about a config change failed: {}", name, e.getMessage());
        }
    }

    // ---- Negotiation --------------------------------------------------------------------------------

    /** Everything this device offers: device bits plus the ring and transport bits the profile allows. */
    @Override
    public long features() {
        long f = device.deviceFeatures()
                | VirtioFeatures.bit(VirtioFeatures.VERSION_1)
                | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
                | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
                | VirtioFeatures.bit(VirtioFeatures.NOTIFY_ON_EMPTY)
                | VirtioFeatures.bit(VirtioFeatures.LOG_ALL)
                | VirtioFeatures.bit(VirtioFeatures.PROTOCOL_FEATURES);
        if (profile.packed()) {
            f |= VirtioFeatures.bit(VirtioFeatures.RING_PACKED);
        }
        if (profile.anyLayoutOffered()) {
            f |= VirtioFeatures.bit(VirtioFeatures.ANY_LAYOUT);
        }
        return f;
    }

    @Override
    public void setFeatures(long features) throws VhostUserException {
        long unknown = features & ~features();
        if (unknown != 0) {
            throw refuse("driver acked features that were not offered: "
                    + VirtioFeatures.names(unknown, device.featureNames()));
        }
        boolean modern = VirtioFeatures.has(features, VirtioFeatures.VERSION_1);
        if (!modern && profile.legacy() == LegacyPolicy.OFF) {
            throw refuse("legacy driver refused: profile --legacy off (VERSION_1 not acked)");
        }
        if (!modern && VirtioFeatures.has(features, VirtioFeatures.RING_PACKED)) {
            throw refuse("legacy driver acked RING_PACKED, which needs VERSION_1");
        }
        driver.featuresAcked(features);
        ackedFeatures = features;
        updateDirtyLog();
        LOG.info("{}: features acked: {} ({} driver)", name,
                VirtioFeatures.names(features, device.featureNames()), driver.kind());
    }

    @Override
    public long protocolFeatures() {
        long f = BASE_PROTOCOL_FEATURES | device.protocolFeatures();
        if (profile.crossEndian()) {
            f |= ProtocolFeature.CROSS_ENDIAN.mask();
        }
        return f;
    }

    @Override
    public void setProtocolFeatures(long features) throws VhostUserException {
        long unknown = features & ~protocolFeatures();
        if (unknown != 0) {
            throw new VhostUserException("protocol features not offered: " + ProtocolFeature.names(unknown));
        }
        protocolFeatures = features;
    }

    @Override
    public void setOwner() {}

    @Override
    public void resetOwner() {
        stopAll();
    }

    @Override
    public void resetDevice() {
        stopAll();
        replaceInflight(null);
        driver.reset();
        ackedFeatures = 0;
        status = 0;
    }

    @Override
    public void setStatus(int newStatus) {
        driver.status(newStatus);
        status = newStatus;
        if (newStatus == 0) {
            stopAll();
        }
    }

    @Override
    public int getStatus() {
        return status;
    }

    @Override
    public int queueNum() {
        return queues.length;
    }

    @Override
    public int maxMemSlots() {
        return MAX_MEM_SLOTS;
    }

    // ---- Memory -------------------------------------------------------------------------------------

    @Override
    public void setMemTable(List<MemoryRegionSpec> specs, List<Fd> fds) throws VhostUserException {
        List<GuestRegion> regions = new ArrayList<>(specs.size());
        List<GuestRegion> mapped = new ArrayList<>(specs.size());
        try {
            for (int i = 0; i < specs.size(); i++) {
                GuestRegion kept = keptRegion(specs.get(i), fds.get(i));
                GuestRegion r = kept != null ? kept : mapRegion(specs.get(i), fds.get(i));
                if (kept == null) {
                    mapped.add(r);
                }
                regions.add(r);
            }
            GuestMemory next = GuestMemory.of(regions);
            switchMemory(next);
            memory.replace(regions);
            LOG.info("{}: memory table of {} regions ({} kept from the last table)", name, regions.size(),
                    regions.size() - mapped.size());
        } catch (VhostUserException | GuestMemoryException e) {
            mapped.forEach(GuestRegion::close);
            throw e instanceof VhostUserException v ? v : new VhostUserException("SET_MEM_TABLE: " + e.getMessage());
        } finally {
            fds.forEach(Fd::close);
        }
    }

    @Override
    public void addMemReg(MemoryRegionSpec spec, Fd fd) throws VhostUserException {
        try (fd) {
            if (memory.size() >= MAX_MEM_SLOTS) {
                throw new VhostUserException("ADD_MEM_REG beyond the " + MAX_MEM_SLOTS + " slots offered");
            }
            GuestRegion region = mapRegion(spec, fd);
            List<GuestRegion> all = new ArrayList<>(memory.current().regions());
            all.add(region);
            GuestMemory next;
            try {
                next = GuestMemory.of(all);
            } catch (GuestMemoryException e) {
                region.close();
                throw new VhostUserException("ADD_MEM_REG: " + e.getMessage());
            }
            switchMemory(next);
            memory.add(region);
        }
    }

    @Override
    public void remMemReg(MemoryRegionSpec spec) throws VhostUserException {
        List<GuestRegion> rest = new ArrayList<>(memory.current().regions());
        boolean found = rest.removeIf(r -> r.guestPhysAddr() == spec.guestPhysAddr() && r.size() == spec.size()
                && r.userAddr() == spec.userAddr());
        if (!found) {
            throw new VhostUserException("REM_MEM_REG: no region at gpa 0x%x size 0x%x uva 0x%x"
                    .formatted(spec.guestPhysAddr(), spec.size(), spec.userAddr()));
        }
        switchMemory(GuestMemory.of(rest));
        memory.remove(spec.guestPhysAddr(), spec.size(), spec.userAddr());
    }

    /** The current region that {@code s} describes again, over the same file, or null. */
    private GuestRegion keptRegion(MemoryRegionSpec s, Fd fd) throws VhostUserException {
        try {
            return memory.mappingOf(s.guestPhysAddr(), s.size(), s.userAddr(), s.mmapOffset(), fd);
        } catch (IOException e) {
            throw new VhostUserException("memory region [gpa 0x%x, size 0x%x]: %s"
                    .formatted(s.guestPhysAddr(), s.size(), e.getMessage()));
        }
    }

    private GuestRegion mapRegion(MemoryRegionSpec s, Fd fd) throws VhostUserException {
        try {
            return GuestRegion.map(s.guestPhysAddr(), s.size(), s.userAddr(), s.mmapOffset(), fd);
        } catch (IOException | GuestMemoryException | IllegalArgumentException e) {
            throw new VhostUserException("memory region [gpa 0x%x, size 0x%x, uva 0x%x, offset 0x%x] refused: %s"
                    .formatted(s.guestPhysAddr(), s.size(), s.userAddr(), s.mmapOffset(), e.getMessage()));
        }
    }

    /**
     * Moves every running ring onto {@code next} before the old regions are unmapped. Each ring stays the object
     * its device holds; only its areas are mapped anew (their addresses are front-end virtual, which stay valid).
     */
    private void switchMemory(GuestMemory next) throws VhostUserException {
        for (Queue q : queues) {
            if (q.ring != null) {
                move(q, next);
            }
        }
    }

    private void move(Queue q, GuestMemory mem) throws VhostUserException {
        String failure = q.worker.call(() -> {
            try {
                RingFactory.move(q, mem);
                if (q.inflight != null) {
                    q.inflight.descriptorRing(descriptorRing(q, mem));
                }
                return null;
            } catch (VhostUserException | RuntimeException e) {
                stopOnWorker(q);
                return e.getMessage();
            }
        });
        if (failure != null) {
            throw new VhostUserException("queue " + q.index() + " stopped: " + failure);
        }
    }

    // ---- Dirty log ----------------------------------------------------------------------------------

    @Override
    public void setLogBase(long size, long offset, Fd fd) throws VhostUserException {
        if (fd == null) {
            throw new VhostUserException("SET_LOG_BASE without an fd (LOG_SHMFD is the only way offered)");
        }
        try (fd) {
            Mapping next = Mapping.map(fd, offset, size);
            Mapping old = logMapping;
            logMapping = next;
            updateDirtyLog();
            if (old != null) {
                old.close();
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new VhostUserException("SET_LOG_BASE size %d offset %d: %s".formatted(size, offset, e.getMessage()));
        }
    }

    @Override
    public void setLogFd(Fd fd) {
        if (fd != null) {
            fd.close(); // the log is shared memory; nothing needs waking
        }
    }

    private void updateDirtyLog() {
        Mapping log = logMapping;
        DirtyLog next = log != null && VirtioFeatures.has(ackedFeatures, VirtioFeatures.LOG_ALL)
                ? new DirtyBitmap(log.segment()) : DirtyLog.NONE;
        if (next.enabled() == dirtyLog.enabled() && next == DirtyLog.NONE) {
            return;
        }
        if (next.enabled()) {
            long bytes = log.segment().byteSize();
            LOG.info("{}: dirty logging {}: {}-byte log, guest pages up to {} MiB", name,
                    dirtyLog.enabled() ? "moves to a new log" : "on", bytes, bytes * 8 * 4096 >> 20);
        } else {
            LOG.info("{}: dirty logging off", name);
        }
        dirtyLog = next;
        for (Queue q : queues) {
            if (q.ring != null) {
                q.worker.run(() -> q.ring.setDirtyLog(next));
            }
        }
    }

    // ---- Rings --------------------------------------------------------------------------------------

    private Queue queueFor(String request, int index) throws VhostUserException {
        if (index < 0 || index >= queues.length) {
            throw new VhostUserException(request + " for queue " + index + "; this " + device.type()
                    + " device has " + queues.length);
        }
        return queues[index];
    }

    private Queue stoppedQueue(String request, int index) throws VhostUserException {
        Queue q = queueFor(request, index);
        if (q.ring != null) {
            throw new VhostUserException(request + " for queue " + index + " while it runs");
        }
        return q;
    }

    @Override
    public void setVringNum(int index, long num) throws VhostUserException {
        Queue q = stoppedQueue("SET_VRING_NUM", index);
        if (num < 1 || num > 32768 || Long.bitCount(num) != 1) {
            throw new VhostUserException("SET_VRING_NUM " + num + " for queue " + index
                    + ": a queue size is a power of two from 1 to 32768");
        }
        q.size = (int) num;
    }

    @Override
    public void setVringAddr(VringAddr addr) throws VhostUserException {
        Queue q = queueFor("SET_VRING_ADDR", addr.index());
        if ((addr.flags() & ~VringAddr.F_LOG) != 0) {
            throw new VhostUserException("SET_VRING_ADDR flags 0x" + Integer.toHexString(addr.flags()));
        }
        if (q.ring != null) {
            // Only the log flag may change on a running ring (the front-end turns logging on for migration).
            if (addr.desc() != q.addr.desc() || addr.avail() != q.addr.avail() || addr.used() != q.addr.used()) {
                throw new VhostUserException("SET_VRING_ADDR moves queue " + addr.index() + " while it runs");
            }
            long logAddr;
            try {
                logAddr = RingFactory.logAddress(addr, memory.current(),
                        VirtioFeatures.has(ackedFeatures, VirtioFeatures.RING_PACKED));
            } catch (GuestMemoryException e) {
                throw new VhostUserException("SET_VRING_ADDR for queue " + addr.index() + ": " + e.getMessage());
            }
            q.addr = addr;
            // The same ring object, changed in place: devices hold on to the ring they were started with, and
            // a new one would leave them driving a copy whose position nobody reads at GET_VRING_BASE.
            q.worker.run(() -> {
                if (q.ring != null) {
                    q.ring.setLogAddress(logAddr);
                }
            });
            return;
        }
        q.addr = addr;
    }

    @Override
    public void setVringBase(int index, long base) throws VhostUserException {
        Queue q = stoppedQueue("SET_VRING_BASE", index);
        if (base < 0 || base > 0xffff_ffffL) {
            throw new VhostUserException("SET_VRING_BASE " + base + " for queue " + index);
        }
        q.base = base;
    }

    @Override
    public void setVringEndian(int index, long num) throws VhostUserException {
        Queue q = stoppedQueue("SET_VRING_ENDIAN", index);
        if (num != 0 && num != 1) {
            throw new VhostUserException("SET_VRING_ENDIAN " + num + " for queue " + index + " (0 little, 1 big)");
        }
        Endianness order = num == 1 ? Endianness.BIG : Endianness.LITTLE;
        if (driver.ignoresRingEndian(q.index(), order)) {
            LOG.warn("{}: SET_VRING_ENDIAN big for queue {} ignored: a VERSION_1 driver is little-endian", name, index);
            return;
        }
        if (order == Endianness.BIG && profile.legacy() != LegacyPolicy.AUTO) {
            throw refuse("legacy big-endian driver refused: profile --legacy " + profile.legacy().flag());
        }
        Endianness configOrder = driver.deviceOrder();
        driver.ringEndian(q.index(), order);
        if (driver.deviceOrder() != configOrder) {
            // A config space read before the order was known was in the old order: ask for a re-read, once.
            configChanged(false);
        }
    }

    @Override
    public void setVringKick(int index, Fd fd) throws VhostUserException {
        Queue q = queueFor("SET_VRING_KICK", index);
        if (q.ring != null) {
            stop(q);
        }
        if (q.kick != null) {
            q.kick.close();
            q.kick = null;
        }
        if (fd != null) {
            q.kick = EventFd.adopt(fd);
        }
        start(q);
    }

    @Override
    public void setVringCall(int index, Fd fd) throws VhostUserException {
        Queue q = queueFor("SET_VRING_CALL", index);
        EventFd old = q.call;
        q.call = fd == null ? null : EventFd.adopt(fd);
        if (old != null) {
            // The worker may be signalling it right now: close only once it has moved on.
            q.worker.post(old::close);
        }
    }

    @Override
    public void setVringErr(int index, Fd fd) throws VhostUserException {
        Queue q = queueFor("SET_VRING_ERR", index);
        EventFd old = q.err;
        q.err = fd == null ? null : EventFd.adopt(fd);
        if (old != null) {
            q.worker.post(old::close);
        }
    }

    /**
     * A ring the driver broke: the device needs a reset (DEVICE_NEEDS_RESET in the status the front-end reads
     * with GET_STATUS) and the front-end hears it on the ring's error eventfd. Runs on the queue's worker.
     */
    private void queueBroken(Queue q) {
        status |= NEEDS_RESET;
        EventFd err = q.err;
        if (err != null) {
            try {
                err.signal();
            } catch (LinuxException | IllegalStateException e) {
                LOG.debug("{}: signalling the error fd of queue {}: {}", name, q.index(), e.getMessage());
            }
        }
        var ring = q.ring();
        LOG.error("{}: queue {} is broken, the device needs a reset: {}", name, q.index(),
                ring == null ? "-" : ring.brokenReason());
    }

    @Override
    public void setVringEnable(int index, boolean enable) throws VhostUserException {
        Queue q = queueFor("SET_VRING_ENABLE", index);
        q.enabled = enable;
        if (enable && q.ring != null) {
            q.worker.post(() -> process(q));
        }
    }

    @Override
    public long getVringBase(int index) throws VhostUserException {
        Queue q = queueFor("GET_VRING_BASE", index);
        if (q.ring == null) {
            return q.base;
        }
        stopKeepingBase(q);
        if (!anyStarted() && active) {
            active = false;
            device.deactivate();
        }
        return q.base;
    }

    /**
     * Stops {@code q} and keeps where it stood as the base GET_VRING_BASE answers: QEMU stops a device with
     * SET_STATUS 0 first and asks for the bases afterwards (vhost_dev_stop), and migrates what it is told.
     */
    private void stopKeepingBase(Queue q) {
        RingState state = stop(q);
        q.base = state.toVhostUser(VirtioFeatures.has(ackedFeatures, VirtioFeatures.RING_PACKED));
        LOG.info("{}: queue {} stopped at {}, base {}", name, q.index(), state, q.base);
    }

    private void start(Queue q) throws VhostUserException {
        if (q.size == 0 || q.addr == null) {
            throw new VhostUserException("queue " + q.index() + " kicked before its size and addresses were set");
        }
        GuestMemory mem = memory.current();
        if (mem.isEmpty()) {
            throw new VhostUserException("queue " + q.index() + " started before SET_MEM_TABLE");
        }
        if (!driver.featuresSet()) {
            // vhost-user allows rings before SET_FEATURES only for legacy front-ends that never send it.
            driver.featuresAcked(ackedFeatures);
        }
        boolean packed = VirtioFeatures.has(ackedFeatures, VirtioFeatures.RING_PACKED);
        RingState state = RingState.fromVhostUser(q.base, packed);
        if (!VirtioFeatures.has(ackedFeatures, VirtioFeatures.PROTOCOL_FEATURES)) {
            q.enabled = true; // without protocol features a ring starts enabled (vhost-user "Ring states")
        }
        var ring = RingFactory.open(q, mem, state, ackedFeatures, driver.ringOrder(q.index()), dirtyLog, () -> queueBroken(q));
        InflightTracker tracker = inflightTracker(q, mem, packed);
        if (tracker != null) {
            RingState resumed = tracker.recover(ring.state());
            if (!resumed.equals(ring.state())) {
                ring = RingFactory.open(q, mem, resumed, ackedFeatures, driver.ringOrder(q.index()), dirtyLog, () -> queueBroken(q));
            }
            if (tracker.pendingResubmissions() > 0) {
                LOG.info("{}: queue {} resumes at {} with {} requests in flight before the reconnect to resubmit",
                        name, q.index(), resumed, tracker.pendingResubmissions());
            }
        }
        if (!active) {
            try {
                device.activate(this);
            } catch (DeviceException e) {
                throw refuse(device.type() + " device refused to start: " + e.getMessage());
            }
            active = true;
        }
        // Read before the worker takes the queue over: it starts resubmitting at once.
        String resubmits = tracker == null ? ""
                : ", " + tracker.pendingResubmissions() + " requests in flight to resubmit";
        var started = ring;
        q.worker.run(() -> {
            q.ring = started;
            q.inflight = tracker;
            if (q.kick != null) {
                try {
                    q.kickKey = q.worker.watch(q.kick.fd(), () -> onKick(q));
                } catch (LinuxException e) {
                    throw new IllegalStateException("epoll for queue " + q.index() + ": " + e.getMessage(), e);
                }
            }
            if (q.kick == null || q.worker.pollMode()) {
                q.worker.addPoller(pollerOf(q));
            }
            device.queueStarted(q);
            process(q); // buffers made available before the kick fd was known
            // A front-end that reconnects stopped listening on the old call fd when it saw the disconnect, and the
            // last used buffers a previous back-end published may have gone unsignalled: without this the driver
            // could wait for them forever. A spurious notification is one drivers must handle anyway.
            q.notifyDriver();
        });
        LOG.info("{}: queue {} started: size {}, {} ring, {} order, base {}{}", name, q.index(), q.size,
                packed ? "packed" : "split", driver.ringOrder(q.index()), q.base, resubmits);
    }

    private final java.util.Map<Queue, Worker.Handler> pollers = new java.util.concurrent.ConcurrentHashMap<>();

    private Worker.Handler pollerOf(Queue q) {
        return pollers.computeIfAbsent(q, x -> () -> process(x));
    }

    private void onKick(Queue q) {
        EventFd kick = q.kick;
        if (kick != null) {
            try {
                kick.drain();
            } catch (LinuxException | IllegalStateException e) {
                LOG.debug("{}: draining kick of queue {}: {}", name, q.index(), e.getMessage());
            }
        }
        q.kicks++;
        if (driver.kickIsEvidence()) {
            driver.kicked(q.index());
        }
        process(q);
    }

    private void process(Queue q) {
        if (q.ring != null && q.enabled) {
            device.process(q);
        }
    }

    /** Stops {@code q} on its worker and returns where it stood. */
    private RingState stop(Queue q) {
        return q.worker.call(() -> stopOnWorker(q));
    }

    private RingState stopOnWorker(Queue q) {
        var ring = q.ring;
        if (ring == null) {
            return RingState.initial();
        }
        device.queueStopped(q);
        if (q.kickKey >= 0) {
            q.worker.unwatch(q.kick.fd(), q.kickKey);
            q.kickKey = -1;
        }
        Worker.Handler poller = pollers.remove(q);
        if (poller != null) {
            q.worker.removePoller(poller);
        }
        q.ring = null;
        q.inflight = null;
        return ring.state();
    }

    private boolean anyStarted() {
        for (Queue q : queues) {
            if (q.ring != null) {
                return true;
            }
        }
        return false;
    }

    private void stopAll() {
        for (Queue q : queues) {
            if (q.ring != null) {
                stopKeepingBase(q);
            }
        }
        if (active) {
            active = false;
            device.deactivate();
        }
    }

    // ---- Config space and device-type requests -----------------------------------------------------

    @Override
    public byte[] getConfig(int offset, int size, int flags) throws VhostUserException {
        driver.configRead();
        byte[] all = device.config(driver);
        byte[] out = new byte[size];
        if (offset < all.length) {
            System.arraycopy(all, offset, out, 0, Math.min(size, all.length - offset));
        }
        return out;
    }

    @Override
    public void setConfig(int offset, int flags, byte[] data) throws VhostUserException {
        try {
            device.writeConfig(offset, data, driver);
        } catch (DeviceException e) {
            throw new VhostUserException("SET_CONFIG: " + e.getMessage());
        }
    }

    @Override
    public void sendRarp(byte[] mac) {
        device.sendRarp(mac);
    }

    @Override
    public void netSetMtu(int mtu) throws VhostUserException {
        try {
            device.setMtu(mtu);
        } catch (DeviceException e) {
            throw new VhostUserException("NET_SET_MTU " + mtu + ": " + e.getMessage());
        }
    }

    @Override
    public void setBackendChannel(BackendChannel channel) {
        BackendChannel old = backendChannel;
        backendChannel = channel;
        if (old != null) {
            old.close();
        }
    }

    /** Whether the device asked for inflight tracking (it then goes through {@link Queue#pop} and friends). */
    private boolean tracksInflight() {
        return ProtocolFeature.INFLIGHT_SHMFD.in(device.protocolFeatures());
    }

    @Override
    public InflightArea getInflightFd(InflightSpec request) throws VhostUserException {
        if (!tracksInflight()) {
            throw new VhostUserException("GET_INFLIGHT_FD: this " + device.type() + " device does not track requests in flight");
        }
        requireStopped("GET_INFLIGHT_FD");
        InflightRegion next = InflightRegion.create(request.numQueues(), request.queueSize(),
                VirtioFeatures.has(ackedFeatures, VirtioFeatures.RING_PACKED));
        InflightArea area;
        try {
            area = next.share();
        } catch (VhostUserException e) {
            next.close();
            throw e;
        }
        replaceInflight(next);
        LOG.info("{}: inflight area created: {}", name, next);
        return area;
    }

    @Override
    public void setInflightFd(InflightSpec spec, Fd fd) throws VhostUserException {
        if (!tracksInflight()) {
            fd.close();
            throw new VhostUserException("SET_INFLIGHT_FD: this " + device.type() + " device does not track requests in flight");
        }
        try {
            requireStopped("SET_INFLIGHT_FD");
        } catch (VhostUserException e) {
            fd.close();
            throw e;
        }
        InflightRegion next = InflightRegion.map(spec, fd);
        replaceInflight(next);
        LOG.info("{}: inflight area set: {}", name, next);
    }

    private void requireStopped(String request) throws VhostUserException {
        if (anyStarted()) {
            throw new VhostUserException(request + " while queues run");
        }
    }

    private void replaceInflight(InflightRegion next) {
        InflightRegion old = inflight;
        inflight = next;
        if (old != null) {
            old.close();
        }
    }

    /** The queue's tracker over its slice of the inflight area, or null when requests in flight are not tracked. */
    private InflightTracker inflightTracker(Queue q, GuestMemory mem, boolean packed) throws VhostUserException {
        InflightRegion region = inflight;
        if (region == null || !ProtocolFeature.INFLIGHT_SHMFD.in(protocolFeatures)) {
            return null;
        }
        MemorySegment area = region.queueArea(q.index());
        if (area == null || region.queueSize() != q.size
                || area.byteSize() < InflightLayout.queueRegionSize(q.size, packed)) {
            throw new VhostUserException("queue %d of size %d does not fit the inflight area (%s)"
                    .formatted(q.index(), q.size, region));
        }
        String label = name + " queue " + q.index();
        return packed ? new PackedInflight(area, q.size, label, descriptorRing(q, mem))
                : new SplitInflight(area, q.size, label);
    }

    private static MemorySegment descriptorRing(Queue q, GuestMemory mem) {
        try {
            return mem.sliceUser(q.addr.desc(), 16L * q.size);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException("queue " + q.index() + ": descriptor ring moved out of memory", e);
        }
    }

    // ---- Lifecycle ----------------------------------------------------------------------------------

    @Override
    public void disconnected() {
        stopAll();
        for (Queue q : queues) {
            closeQuietly(q.kick);
            q.kick = null;
            EventFd call = q.call;
            q.call = null;
            if (call != null) {
                q.worker.post(call::close);
            }
            closeQuietly(q.err);
            q.err = null;
            q.size = 0;
            q.addr = null;
            q.base = 0;
            q.enabled = false;
        }
        memory.close();
        replaceInflight(null);
        if (logMapping != null) {
            logMapping.close();
            logMapping = null;
        }
        dirtyLog = DirtyLog.NONE;
        BackendChannel channel = backendChannel;
        backendChannel = null;
        if (channel != null) {
            channel.close();
        }
        driver.reset();
        ackedFeatures = 0;
        protocolFeatures = 0;
        status = 0;
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing an fd we own cannot fail in a way we could act on
            }
        }
    }

    private VhostUserException refuse(String why) {
        refusals.incrementAndGet();
        lastRefusal = why;
        LOG.error("{}: {}", name, why);
        return new VhostUserException(why);
    }

    /** How many driver set-ups this device has refused, and the last reason. */
    public long refusals() {
        return refusals.get();
    }

    public String lastRefusal() {
        return lastRefusal;
    }

    public long ackedFeatures() {
        return ackedFeatures;
    }

    public GuestMemory memory() {
        return memory.current();
    }

    /**
     * What management shows ({@code jvdpa dev show/config show/stats}): negotiation, driver kind and evidence,
     * and every queue with its counters. Safe from any thread; counters may be a little behind.
     */
    public DeviceSnapshot snapshot() {
        DriverModel.Snapshot d = driver.snapshot();
        List<QueueSnapshot> qs = new ArrayList<>(queues.length);
        for (Queue q : queues) {
            var ring = q.ring;
            var c = ring != null ? ring.counters() : null;
            // A running ring keeps the order it was started with; the model's is what the next start would use.
            Endianness order = ring != null ? ring.features().order() : d.ringOrders().get(q.index());
            qs.add(new QueueSnapshot(q.index(), q.size, ring != null, q.enabled, order,
                    q.kicks, q.notifications, c != null ? c.chains() : 0, c != null ? c.readableBytes() : 0,
                    c != null ? c.usedChains() : 0, c != null ? c.usedBytes() : 0, c != null ? c.errors() : 0,
                    ring != null && ring.isBroken(), ring != null ? ring.brokenReason() : null));
        }
        return new DeviceSnapshot(name, device.type(), device.virtioId(), profile,
                VirtioFeatures.names(features(), device.featureNames()), d.ackedFeatures(),
                VirtioFeatures.names(d.ackedFeatures(), device.featureNames()), ProtocolFeature.names(protocolFeatures),
                status, d, qs, refusals.get(), lastRefusal);
    }
}

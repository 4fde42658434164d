package io.jvdpa.blk;

import io.jvdpa.device.DeviceContext;
import io.jvdpa.device.DeviceException;
import io.jvdpa.device.DriverModel;
import io.jvdpa.device.Queue;
import io.jvdpa.device.VirtioDevice;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.virtqueue.DescriptorChain;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A virtio-blk device over a raw image file, for modern and legacy drivers in either byte order (VIRTIO 1.2
 * §5.2). Each request queue runs on its worker thread and completes requests in bursts: every request of a kick
 * is executed, then the used ring is published and the driver notified once. Requests in flight are tracked in
 * the front-end's inflight area, so a restarted back-end resubmits them.
 *
 * <p>Durability: a request that changes the image (OUT, DISCARD, WRITE_ZEROES) completes once the change is in
 * the file; FLUSH, and every such request while the cache is writethrough, completes only after fdatasync. Once
 * an fdatasync has failed, no later one succeeds ({@link BlkImage}).
 */
public final class VirtioBlkDevice implements VirtioDevice, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioBlkDevice.class);

    private final BlkImage image;
    private final BlkDeviceConfig config;
    private final CacheState cache;
    private final RequestHandler[] handlers;
    private volatile DeviceContext context;

    /** Serves {@code image} (which this device closes) as {@code config} says. */
    public VirtioBlkDevice(BlkImage image, BlkDeviceConfig config) {
        if (config.readOnly() && !image.readOnly()) {
            throw new IllegalArgumentException("a read-only device needs an image opened read-only");
        }
        this.image = image;
        this.config = config;
        this.cache = new CacheState(config.cache());
        this.handlers = new RequestHandler[config.queues()];
        byte[] id = config.idBytes();
        for (int i = 0; i < handlers.length; i++) {
            handlers[i] = new RequestHandler(image, cache, id, "blk queue " + i);
        }
    }

    public BlkImage image() {
        return image;
    }

    public BlkDeviceConfig config() {
        return config;
    }

    @Override
    public String type() {
        return "blk";
    }

    @Override
    public int virtioId() {
        return VirtioBlk.DEVICE_ID;
    }

    @Override
    public long deviceFeatures() {
        long f = bit(VirtioBlk.F_SIZE_MAX) | bit(VirtioBlk.F_SEG_MAX) | bit(VirtioBlk.F_BLK_SIZE)
                | bit(VirtioBlk.F_TOPOLOGY) | bit(VirtioBlk.F_FLUSH) | bit(VirtioBlk.F_CONFIG_WCE) | bit(VirtioBlk.F_MQ);
        if (config.readOnly()) {
            f |= bit(VirtioBlk.F_RO);
        } else {
            f |= bit(VirtioBlk.F_DISCARD) | bit(VirtioBlk.F_WRITE_ZEROES);
        }
        return f;
    }

    private static long bit(int n) {
        return 1L << n;
    }

    @Override
    public Map<Integer, String> featureNames() {
        return VirtioBlk.FEATURE_NAMES;
    }

    /** Requests in flight survive a back-end restart through the front-end's inflight area. */
    @Override
    public long protocolFeatures() {
        return ProtocolFeature.INFLIGHT_SHMFD.mask();
    }

    @Override
    public int maxQueues() {
        return config.queues();
    }

    @Override
    public byte[] config(DriverModel driver) {
        return BlkConfigSpace.encode(image.capacity(), config.queues(), cache.writeback(), driver.deviceOrder());
    }

    /** The driver switches the cache mode through {@code writeback} (CONFIG_WCE); nothing else is writable. */
    @Override
    public void writeConfig(int offset, byte[] data, DriverModel driver) throws DeviceException {
        if (offset != BlkConfigSpace.WRITEBACK || data.length != 1) {
            throw new DeviceException("config space bytes [" + offset + ", +" + data.length
                    + ") are read-only; only writeback (offset " + BlkConfigSpace.WRITEBACK + ", 1 byte) is writable");
        }
        cache.setWriteback(data[0] != 0);
        LOG.info("blk: driver set the cache to {}", data[0] != 0 ? "writeback" : "writethrough");
    }

    @Override
    public void activate(DeviceContext ctx) {
        context = ctx;
        cache.reset(VirtioBlk.has(ctx.driver().ackedFeatures(), VirtioBlk.F_FLUSH));
    }

    @Override
    public void queueStarted(Queue queue) {
        DriverModel driver = context.driver();
        handlers[queue.index()].start(driver.deviceOrder(), driver.ackedFeatures());
    }

    @Override
    public void process(Queue queue) {
        RequestHandler h = handlers[queue.index()];
        DescriptorChain chain = h.chain;
        while (queue.pop(chain)) {
            queue.addUsed(chain, h.handle(chain));
        }
        queue.publish();
    }

    @Override
    public void deactivate() {
        context = null;
    }

    /** Queue {@code index}'s request handler (for tests that stop a queue half way through a request). */
    RequestHandler handler(int index) {
        return handlers[index];
    }

    /** Totals over every queue. */
    public BlkCounters counters() {
        BlkCounters total = new BlkCounters();
        for (RequestHandler h : handlers) {
            total.add(h.counters);
        }
        return total;
    }

    /** Queue {@code index}'s counters. */
    public BlkCounters counters(int index) {
        return handlers[index].counters;
    }

    /** The last bad request on queue {@code index}, described; null if none. */
    public String lastError(int index) {
        return handlers[index].lastError();
    }

    @Override
    public void close() {
        image.close();
    }
}

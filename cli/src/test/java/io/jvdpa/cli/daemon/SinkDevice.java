package io.jvdpa.cli.daemon;

import io.jvdpa.device.DeviceContext;
import io.jvdpa.device.DriverModel;
import io.jvdpa.device.Queue;
import io.jvdpa.device.VirtioDevice;
import io.jvdpa.virtqueue.DescriptorChain;
import java.util.Map;

/** A test device type: two queues; every chain is completed at once with its writable bytes zero-filled. */
final class SinkDevice implements VirtioDevice, AutoCloseable {
    private final DescriptorChain chain = new DescriptorChain();
    volatile boolean closed;

    @Override
    public String type() {
        return "sink";
    }

    @Override
    public int virtioId() {
        return 0x7e58;
    }

    @Override
    public long deviceFeatures() {
        return 1L << 1;
    }

    @Override
    public Map<Integer, String> featureNames() {
        return Map.of(1, "SINK_TEST");
    }

    @Override
    public int maxQueues() {
        return 2;
    }

    @Override
    public byte[] config(DriverModel driver) {
        return new byte[4];
    }

    @Override
    public void activate(DeviceContext context) {}

    @Override
    public void process(Queue queue) {
        while (queue.ring().pop(chain)) {
            var w = chain.writer();
            for (long i = chain.writableBytes(); i > 0; i--) {
                w.writeU8((byte) 0);
            }
            queue.ring().addUsed(chain);
        }
        queue.publish();
    }

    @Override
    public void deactivate() {}

    @Override
    public void close() {
        closed = true;
    }
}

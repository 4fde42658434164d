package io.jvdpa.blk;

import io.jvdpa.device.DeviceContext;
import io.jvdpa.device.DeviceException;
import io.jvdpa.device.DriverModel;
import io.jvdpa.device.Queue;
import io.jvdpa.device.VirtioDevice;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A block device that serves normally until told to die: at its next kick it runs a last step (take some requests,
 * carry some out, complete some), then stops dead, as a process killed at that instruction would. What it leaves
 * behind is only what a real crash leaves: the image file, guest memory and the inflight area.
 */
final class DyingDevice implements VirtioDevice {
    /** The last thing the device does on queue {@code q}. */
    interface LastStep {
        void run(Queue q, RequestHandler handler);
    }

    private final VirtioBlkDevice inner;
    private volatile LastStep lastStep;
    private volatile boolean dead;
    /** Runs in place of the device's own processing while set (to observe it from the inside). */
    volatile LastStep instead;
    final CountDownLatch died = new CountDownLatch(1);

    DyingDevice(VirtioBlkDevice inner) {
        this.inner = inner;
    }

    void dieWith(LastStep step) {
        lastStep = step;
    }

    @Override
    public void process(Queue queue) {
        if (dead) {
            return;
        }
        LastStep p = instead;
        if (p != null) {
            p.run(queue, inner.handler(queue.index()));
            return;
        }
        LastStep step = lastStep;
        if (step == null) {
            inner.process(queue);
            return;
        }
        step.run(queue, inner.handler(queue.index()));
        dead = true;
        died.countDown();
    }

    @Override
    public String type() {
        return inner.type();
    }

    @Override
    public int virtioId() {
        return inner.virtioId();
    }

    @Override
    public long deviceFeatures() {
        return inner.deviceFeatures();
    }

    @Override
    public Map<Integer, String> featureNames() {
        return inner.featureNames();
    }

    @Override
    public long protocolFeatures() {
        return inner.protocolFeatures();
    }

    @Override
    public int maxQueues() {
        return inner.maxQueues();
    }

    @Override
    public byte[] config(DriverModel driver) {
        return inner.config(driver);
    }

    @Override
    public void writeConfig(int offset, byte[] data, DriverModel driver) throws DeviceException {
        inner.writeConfig(offset, data, driver);
    }

    @Override
    public void activate(DeviceContext context) {
        inner.activate(context);
    }

    @Override
    public void queueStarted(Queue queue) {
        inner.queueStarted(queue);
    }

    @Override
    public void queueStopped(Queue queue) {
        inner.queueStopped(queue);
    }

    @Override
    public void deactivate() {
        inner.deactivate();
    }
}

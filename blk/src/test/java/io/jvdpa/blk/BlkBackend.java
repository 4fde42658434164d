package io.jvdpa.blk;

import io.jvdpa.device.DeviceBackend;
import io.jvdpa.device.DeviceProfile;
import io.jvdpa.device.VirtioDevice;
import io.jvdpa.device.Worker;
import io.jvdpa.vhostuser.BackendEndpoint;
import java.nio.file.Path;
import java.util.function.Function;

/** A block device served on a socket in this JVM, as {@code jvdpa blk} would run it. */
final class BlkBackend implements AutoCloseable {
    final VirtioBlkDevice device;
    final VirtioDevice served;
    final DeviceBackend backend;
    private final Worker[] workers;
    private final BackendEndpoint endpoint;

    BlkBackend(Path socket, BlkImage image, BlkDeviceConfig config) throws Exception {
        this(socket, image, config, 1, d -> d);
    }

    /** {@code wrap} may put a test device around the real one (e.g. to die at a chosen point). */
    BlkBackend(Path socket, BlkImage image, BlkDeviceConfig config, int workerCount,
               Function<VirtioBlkDevice, VirtioDevice> wrap) throws Exception {
        this.device = new VirtioBlkDevice(image, config);
        this.served = wrap.apply(device);
        this.workers = new Worker[workerCount];
        for (int i = 0; i < workerCount; i++) {
            workers[i] = new Worker("blk-test-worker-" + i, false);
        }
        this.backend = new DeviceBackend("blk0", served, DeviceProfile.DEFAULT, workers);
        this.endpoint = BackendEndpoint.listen(socket, 0600, backend, "blk0");
    }

    Worker worker(int i) {
        return workers[i];
    }

    private boolean closed;

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        endpoint.close();
        for (Worker w : workers) {
            w.close();
        }
        device.close();
    }
}

package io.jvdpa.net;

import io.jvdpa.device.DeviceBackend;
import io.jvdpa.device.DeviceProfile;
import io.jvdpa.device.Worker;
import io.jvdpa.vhostuser.BackendEndpoint;
import java.nio.file.Files;
import java.nio.file.Path;

/** A net device served over a real vhost-user socket in this JVM, with its own worker threads. */
final class DeviceFixture implements AutoCloseable {
    final Path dir;
    final Worker[] workers;
    final VirtioNetDevice device;
    final DeviceBackend backend;
    final BackendEndpoint endpoint;

    DeviceFixture(String name, NetDeviceConfig config, Network network, DeviceProfile profile, int workerCount)
            throws Exception {
        this(name, config, network, profile, workerCount, false);
    }

    DeviceFixture(String name, NetDeviceConfig config, Network network, DeviceProfile profile, int workerCount,
                  boolean poll) throws Exception {
        dir = Files.createTempDirectory("jvdpa-net-test");
        workers = new Worker[workerCount];
        for (int i = 0; i < workerCount; i++) {
            workers[i] = new Worker(name + "-w" + i, poll);
        }
        device = new VirtioNetDevice(config, network);
        backend = new DeviceBackend(name, device, profile, workers);
        endpoint = BackendEndpoint.listen(dir.resolve(name + ".sock"), 0600, backend, name);
    }

    DeviceFixture(Network network, DeviceProfile profile) throws Exception {
        this("net0", NetDeviceConfig.defaults("net0"), network, profile, 1);
    }

    Path socket() {
        return endpoint.path();
    }

    @Override
    public void close() throws Exception {
        endpoint.close();
        for (Worker w : workers) {
            w.close();
        }
        device.close();
        Files.deleteIfExists(endpoint.path());
        Files.deleteIfExists(dir);
    }
}

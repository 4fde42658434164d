package io.jvdpa.device;

import io.jvdpa.vhostuser.BackendEndpoint;
import java.nio.file.Files;
import java.nio.file.Path;

/** An {@link EchoDevice} served over a real vhost-user socket in this JVM, on a worker of its own. */
final class EchoFixture implements AutoCloseable {
    final Path dir;
    final Worker worker;
    final EchoDevice device;
    final DeviceBackend backend;
    final BackendEndpoint endpoint;

    EchoFixture(EchoDevice device, DeviceProfile profile, boolean poll) throws Exception {
        dir = Files.createTempDirectory("jvdpa-echo");
        worker = new Worker("echo-worker", poll);
        this.device = device;
        backend = new DeviceBackend("echo0", device, profile, new Worker[] {worker});
        endpoint = BackendEndpoint.listen(dir.resolve("echo.sock"), 0600, backend, "echo0");
    }

    EchoFixture(EchoDevice device, DeviceProfile profile) throws Exception {
        this(device, profile, false);
    }

    EchoFixture(DeviceProfile profile) throws Exception {
        this(new EchoDevice(), profile);
    }

    EchoFixture() throws Exception {
        this(DeviceProfile.DEFAULT);
    }

    Path socket() {
        return endpoint.path();
    }

    @Override
    public void close() throws Exception {
        endpoint.close();
        worker.close();
        Files.deleteIfExists(endpoint.path());
        Files.deleteIfExists(dir);
    }
}

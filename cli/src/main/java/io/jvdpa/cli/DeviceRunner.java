package io.jvdpa.cli;

import io.jvdpa.device.DeviceBackend;
import io.jvdpa.device.VirtioDevice;
import io.jvdpa.device.Worker;
import io.jvdpa.sys.LinuxException;
import io.jvdpa.vhostuser.BackendEndpoint;
import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one device until SIGTERM/SIGINT: its workers, its framework backend and its socket. On the way out
 * the front-end is disconnected (rings stop after the requests in flight), and the socket file removed.
 */
public final class DeviceRunner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceRunner.class);

    private final Worker[] workers;
    private final DeviceBackend backend;
    private final BackendEndpoint endpoint;

    /** {@code options} must have passed {@link DeviceOptions#validate()}. */
    public DeviceRunner(String name, VirtioDevice device, DeviceOptions options) {
        int[] cpus = options.workerCpus();
        this.workers = new Worker[cpus.length];
        for (int i = 0; i < workers.length; i++) {
            try {
                workers[i] = new Worker(name + "-worker-" + i, options.poll, cpus[i]);
            } catch (LinuxException e) {
                close();
                throw new StartException("cannot start worker " + i
                        + (cpus[i] == Worker.ANY_CPU ? "" : " on CPU " + cpus[i]) + ": " + e.getMessage(), e);
            }
        }
        this.backend = new DeviceBackend(name, device, options.profile(), workers);
        try {
            this.endpoint = options.client
                    ? BackendEndpoint.connect(options.socketPath, backend, name)
                    : BackendEndpoint.listen(options.socketPath, options.socketModeBits(), backend, name);
        } catch (IOException e) {
            closeWorkers();
            throw new StartException("cannot listen on " + options.socketPath + ": " + e.getMessage(), e);
        }
        LOG.info("{}: {} device {} on {} ({} mode{}); profile: {}", name, device.type(),
                options.client ? "connecting to" : "listening", options.socketPath,
                options.poll ? "poll" : "event", options.workerCpus == null ? "" : ", workers on CPUs " + options.workerCpus,
                backend.profile().statement(backend.queueCount()));
    }

    public DeviceBackend backend() {
        return backend;
    }

    public BackendEndpoint endpoint() {
        return endpoint;
    }

    /** Blocks until the process is told to stop, then closes everything. */
    public void runUntilStopped() {
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            close();
            stopped.countDown();
        }, "jvdpa-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private volatile boolean closed;

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (endpoint != null) {
            endpoint.close();
        }
        closeWorkers();
    }

    private void closeWorkers() {
        for (Worker w : workers) {
            if (w != null) {
                w.close();
            }
        }
    }
}

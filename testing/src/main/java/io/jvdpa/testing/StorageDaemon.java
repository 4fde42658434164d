package io.jvdpa.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * qemu-storage-daemon exporting a raw image file as a vhost-user-blk back-end on a unix socket: the reference
 * peer for jvdpa's block device.
 */
public final class StorageDaemon implements AutoCloseable {
    private final ManagedProcess process;
    private final Path socket;

    private StorageDaemon(ManagedProcess process, Path socket) {
        this.process = process;
        this.socket = socket;
    }

    /** Exports {@code image} (a raw file) on {@code socket}. */
    public static Builder export(Path image, Path socket) {
        return new Builder(image, socket);
    }

    public Path socket() {
        return socket;
    }

    public boolean isRunning() {
        return process.isAlive();
    }

    /** The process, for its logs and output. */
    public ManagedProcess process() {
        return process;
    }

    @Override
    public void close() {
        process.close();
    }

    /** Configures a {@link StorageDaemon}. */
    public static final class Builder {
        private final Path image;
        private final Path socket;
        private boolean writable = true;
        private int queues = 1;
        private String name = "qemu-storage-daemon";
        private Duration startTimeout = Duration.ofSeconds(30);
        private Duration maxLifetime = Duration.ofMinutes(15);

        private Builder(Path image, Path socket) {
            this.image = Objects.requireNonNull(image, "image");
            this.socket = Objects.requireNonNull(socket, "socket");
        }

        public Builder writable(boolean newWritable) {
            this.writable = newWritable;
            return this;
        }

        /** Request queues the export offers ({@code num-queues}). */
        public Builder queues(int newQueues) {
            this.queues = newQueues;
            return this;
        }

        public Builder name(String newName) {
            this.name = newName;
            return this;
        }

        public Builder startTimeout(Duration timeout) {
            this.startTimeout = timeout;
            return this;
        }

        public Builder maxLifetime(Duration newMaxLifetime) {
            this.maxLifetime = newMaxLifetime;
            return this;
        }

        public List<String> command() {
            return new ArrayList<>(List.of("qemu-storage-daemon",
                    "--blockdev", "driver=file,node-name=file0,filename=" + QemuCommandLine.escape(image.toString()),
                    "--export", "type=vhost-user-blk,id=export0,node-name=file0,addr.type=unix,addr.path="
                            + QemuCommandLine.escape(socket.toString()) + ",writable=" + (writable ? "on" : "off")
                            + ",num-queues=" + queues));
        }

        /** Starts the daemon and waits until its socket exists. */
        public StorageDaemon start() {
            ManagedProcess process = ManagedProcess.builder(name).command(command()).maxLifetime(maxLifetime).start();
            try {
                process.awaitPath(socket, startTimeout);
            } catch (RuntimeException e) {
                process.close();
                throw e;
            }
            return new StorageDaemon(process, socket);
        }
    }
}

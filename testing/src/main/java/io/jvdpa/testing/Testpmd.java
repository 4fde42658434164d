package io.jvdpa.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * DPDK's dpdk-testpmd as a vhost-user peer: either the back-end ({@code net_vhost}, serving a guest or a
 * virtio-user front-end) or the front-end ({@code net_virtio_user}, driving a back-end such as jvdpa's). It runs
 * without hugepages or PCI ({@code --no-huge --no-pci}), prints port statistics every stats period, and on
 * {@link #stop()} prints and returns its final forward statistics.
 */
public final class Testpmd implements AutoCloseable {
    /** testpmd's {@code --forward-mode}. */
    public enum ForwardMode {
        IO, MAC, MACSWAP, RXONLY, TXONLY, FLOWGEN, CSUM,
        /** Answers ARP requests and ICMP echo requests: a ping target for a guest. */
        ICMPECHO;

        String arg() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final Path DPDK_LIBS = Path.of("/usr/lib/x86_64-linux-gnu/dpdk");
    private static final Pattern FORWARDING = Pattern.compile("packet forwarding - ports=");
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private final ManagedProcess process;
    private final String filePrefix;

    private Testpmd(ManagedProcess process, String filePrefix) {
        this.process = process;
        this.filePrefix = filePrefix;
    }

    /** testpmd as the vhost-user back-end: it creates {@code socket} and waits for a front-end (QEMU). */
    public static Builder vhostBackend(Path socket) {
        return new Builder(true, socket);
    }

    /** testpmd as a virtio-user front-end: it connects to the back-end listening on {@code socket}. */
    public static Builder virtioUserFrontend(Path socket) {
        return new Builder(false, socket);
    }

    /** The latest statistics block for {@code port}; fails if none has been printed yet. */
    public PortStats stats(int port) {
        List<PortStats> all = PortStats.parseAll(process.stdout().text());
        for (int i = all.size() - 1; i >= 0; i--) {
            if (all.get(i).port() == port) {
                return all.get(i);
            }
        }
        throw new HarnessException("testpmd printed no statistics for port " + port + " yet; " + process.describe());
    }

    /** The last {@code count} statistics blocks printed for {@code port} (fewer if fewer were printed). */
    public List<PortStats> recentStats(int port, int count) {
        List<PortStats> mine = new ArrayList<>();
        for (PortStats s : PortStats.parseAll(process.stdout().text())) {
            if (s.port() == port) {
                mine.add(s);
            }
        }
        return List.copyOf(mine.subList(Math.max(0, mine.size() - count), mine.size()));
    }

    /** Waits until a statistics block for {@code port} satisfies {@code condition}, and returns it. */
    public PortStats awaitStats(int port, Predicate<PortStats> condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String exited = process.exitedReason();
            if (exited != null) {
                throw new HarnessException(exited);
            }
            List<PortStats> all = PortStats.parseAll(process.stdout().text());
            PortStats latest = null;
            for (PortStats s : all) {
                if (s.port() == port) {
                    latest = s;
                }
            }
            if (latest != null && condition.test(latest)) {
                return latest;
            }
            if (System.nanoTime() > deadline) {
                throw new HarnessException("testpmd port " + port + " statistics did not reach the expected state "
                        + "within " + timeout + "; latest " + latest + "; " + process.describe());
            }
            ManagedProcess.sleep(Duration.ofMillis(200));
        }
    }

    /** Waits until testpmd has started forwarding (for a front-end: it connected to its back-end). */
    public Testpmd awaitForwarding(Duration timeout) {
        process.awaitOutput(FORWARDING, timeout, false);
        return this;
    }

    /**
     * Stops testpmd with SIGINT, waits for it to exit and returns the forward statistics it printed per port.
     *
     * @throws HarnessException if it does not exit in time, exits with an error, or printed no statistics
     */
    public List<ForwardStats> stop() {
        process.signal("INT");
        int status = process.waitFor(Duration.ofSeconds(30));
        List<ForwardStats> stats = ForwardStats.parseAll(process.stdout().text());
        if (status != 0 || stats.isEmpty()) {
            throw new HarnessException("testpmd exited with status " + status + " and " + stats.size()
                    + " forward statistics blocks; " + process.describe());
        }
        return stats;
    }

    /**
     * The per-stream statistics {@link #stop()} printed: one block per forwarding stream that moved anything, when
     * there are more streams than ports (several queues on a port); empty before {@link #stop()}.
     */
    public List<StreamStats> streamStats() {
        return StreamStats.parseAll(process.stdout().text());
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
        for (Path runtime : List.of(Path.of("/var/run/dpdk", filePrefix), Path.of("/run/dpdk", filePrefix))) {
            deleteTree(runtime);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // DPDK's runtime directory is only litter; failing to remove it must not fail a test.
        }
    }

    /** The newest {@code pmds-*} directory of the installed DPDK, where the poll-mode drivers live. */
    static Path pmdDirectory() {
        try (Stream<Path> dirs = Files.list(DPDK_LIBS)) {
            return dirs.filter(p -> p.getFileName().toString().startsWith("pmds-"))
                    .max(Comparator.comparing(p -> p.getFileName().toString()))
                    .orElseThrow(() -> new HarnessException("no pmds-* directory in " + DPDK_LIBS
                            + "; install dpdk (scripts/install-deps)"));
        } catch (IOException e) {
            throw new HarnessException("cannot list " + DPDK_LIBS + ": " + e + "; install dpdk (scripts/install-deps)", e);
        }
    }

    /** Configures a {@link Testpmd}. */
    public static final class Builder {
        private final boolean backend;
        private final Path socket;
        private int queues = 1;
        private boolean client;
        private boolean server;
        private boolean packed;
        private ForwardMode forwardMode = ForwardMode.IO;
        private int statsPeriodSeconds = 1;
        private String lcores = "0@0,1@0";
        private int memoryMiB = 1024;
        private final List<String> extraEalArgs = new ArrayList<>();
        private final List<String> extraAppArgs = new ArrayList<>();
        private String name;
        private Duration startTimeout = Duration.ofSeconds(60);
        private Duration maxLifetime = Duration.ofMinutes(15);

        private Builder(boolean backend, Path socket) {
            this.backend = backend;
            this.socket = Objects.requireNonNull(socket, "socket");
        }

        public Builder queues(int newQueues) {
            this.queues = newQueues;
            return this;
        }

        /** Back-end only: connect to a front-end that listens, reconnecting when it goes away ({@code client=1}). */
        public Builder client(boolean newClient) {
            if (!backend) {
                throw new IllegalStateException("client=1 is a net_vhost option; a virtio-user front-end uses server()");
            }
            this.client = newClient;
            return this;
        }

        /** Front-end only: listen on the socket for a back-end that connects ({@code server=1}). */
        public Builder server(boolean newServer) {
            if (backend) {
                throw new IllegalStateException("server=1 is a net_virtio_user option; a net_vhost back-end uses client()");
            }
            this.server = newServer;
            return this;
        }

        /** Front-end only: offer the packed virtqueue layout ({@code packed_vq=1}). */
        public Builder packed(boolean newPacked) {
            if (backend) {
                throw new IllegalStateException("packed_vq is a net_virtio_user option; the back-end follows the front-end");
            }
            this.packed = newPacked;
            return this;
        }

        public Builder forwardMode(ForwardMode mode) {
            this.forwardMode = Objects.requireNonNull(mode);
            return this;
        }

        /** Seconds between statistics blocks ({@code --stats-period}); 1 by default. */
        public Builder statsPeriodSeconds(int seconds) {
            if (seconds < 1) {
                throw new IllegalArgumentException("stats period below 1 s: " + seconds);
            }
            this.statsPeriodSeconds = seconds;
            return this;
        }

        /** EAL {@code --lcores}: the main lcore and one forwarding lcore, both on CPU 0 by default. */
        public Builder lcores(String newLcores) {
            this.lcores = newLcores;
            return this;
        }

        public Builder memoryMiB(int newMemoryMiB) {
            this.memoryMiB = newMemoryMiB;
            return this;
        }

        /** Extra EAL arguments (before {@code --}). */
        public Builder ealArgs(String... args) {
            extraEalArgs.addAll(List.of(args));
            return this;
        }

        /** Extra testpmd arguments (after {@code --}), e.g. {@code "--txpkts=64"}. */
        public Builder appArgs(String... args) {
            extraAppArgs.addAll(List.of(args));
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

        /** The testpmd command line, without starting it. */
        public List<String> command(String filePrefix) {
            Path pmds = pmdDirectory();
            String vdev = backend
                    ? "net_vhost0,iface=" + socket + ",queues=" + queues + (client ? ",client=1" : "")
                    : "net_virtio_user0,path=" + socket + ",queues=" + queues + (packed ? ",packed_vq=1" : "")
                            + (server ? ",server=1" : "");
            List<String> cmd = new ArrayList<>(List.of("dpdk-testpmd", "--lcores", lcores, "--no-huge",
                    "-m", Integer.toString(memoryMiB), "--no-pci", "--file-prefix=" + filePrefix,
                    "-d", pmds.resolve("librte_mempool_ring.so").toString(),
                    "-d", pmds.resolve(backend ? "librte_net_vhost.so" : "librte_net_virtio.so").toString(),
                    "--vdev", vdev));
            cmd.addAll(extraEalArgs);
            // Without --no-mlockall, SET_MEM_TABLE pre-faults all guest RAM (seconds under load).
            cmd.addAll(List.of("--", "--no-mlockall", "--forward-mode=" + forwardMode.arg(),
                    "--stats-period", Integer.toString(statsPeriodSeconds), "--auto-start",
                    "--rxq=" + queues, "--txq=" + queues));
            cmd.addAll(extraAppArgs);
            return cmd;
        }

        /**
         * Starts testpmd and waits until it is ready for its peer: a back-end until its socket exists, a
         * front-end until it forwards (it connected), a listening front-end until its socket exists.
         */
        public Testpmd start() {
            String prefix = "jvdpa-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet();
            String processName = name != null ? name : backend ? "testpmd-vhost" : "testpmd-virtio-user";
            ManagedProcess process = ManagedProcess.builder(processName).command(command(prefix))
                    .maxLifetime(maxLifetime).start();
            Testpmd testpmd = new Testpmd(process, prefix);
            try {
                if (backend && !client || server) {
                    process.awaitPath(socket, startTimeout);
                }
                if (backend || !server) {
                    testpmd.awaitForwarding(startTimeout);
                }
            } catch (RuntimeException e) {
                testpmd.close();
                throw e;
            }
            return testpmd;
        }
    }
}

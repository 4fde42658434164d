package io.jvdpa.it.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.sys.CpuAffinity;
import io.jvdpa.testing.ForwardStats;
import io.jvdpa.testing.StreamStats;
import io.jvdpa.testing.Testpmd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * DPDK's virtio-user (dpdk-testpmd) as the front-end of {@code jvdpa net}, split and packed rings, one and four
 * queue pairs: traffic flows each way and the two sides' counters agree. Every run also shows it ran what its
 * cell says: jvdpa's log names the features acked (RING_PACKED for a packed cell, MQ with more than one pair)
 * and every queue of the pairs started with that ring layout; with four pairs, testpmd's per-stream counters
 * show traffic on each pair.
 *
 * <p>What the guest sends is counted exactly on both sides: jvdpa sends on frames a driver made available
 * before it stopped a queue. What jvdpa puts into receive rings can exceed what testpmd counted by the frames
 * still sitting in those rings when testpmd stopped reading: at most one ring's worth per queue.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class NetTestpmdIT {
    private static final int RING = 256;
    private static final Duration TRAFFIC = Duration.ofSeconds(2);

    @TempDir
    Path dir;

    private static final Pattern FEATURES_ACKED = Pattern.compile("features acked: \\[([A-Z0-9_, ]*)]");
    private static final Pattern QUEUE_STARTED = Pattern.compile("queue (\\d+) started: size \\d+, (\\w+) ring");
    /** Frames each stream must move with several pairs; an idle pair moves none, a running one some 100,000. */
    private static final long PER_STREAM = 1_000;

    /** {@code workerCpus}: each jvdpa worker thread's Cpus_allowed_list, read while the traffic ran. */
    private record Run(ForwardStats testpmd, List<StreamStats> streams, Map<String, Long> jvdpa,
                       Map<String, String> workerCpus) {}

    private Run run(String network, int queues, boolean packed, Testpmd.ForwardMode mode, String... appArgs)
            throws Exception {
        return run(network, queues, packed, mode, List.of(), appArgs);
    }

    private Run run(String network, int queues, boolean packed, Testpmd.ForwardMode mode, List<String> jvdpaFlags,
                    String... appArgs) throws Exception {
        Path socket = dir.resolve(network + ".sock");
        List<String> flags = new ArrayList<>(List.of("--network", network, "--queue-pairs", Integer.toString(queues)));
        flags.addAll(jvdpaFlags);
        try (JvdpaProcess jvdpa = JvdpaProcess.net("jvdpa-" + network + "-q" + queues + (packed ? "-packed" : ""),
                socket, flags.toArray(String[]::new))) {
            List<ForwardStats> stats;
            List<StreamStats> streams;
            Map<String, String> workerCpus;
            try (Testpmd testpmd = Testpmd.virtioUserFrontend(socket).queues(queues).packed(packed)
                    .forwardMode(mode).appArgs(appArgs).start()) {
                Thread.sleep(TRAFFIC.toMillis());
                workerCpus = workerCpus(jvdpa.process().pid());
                stats = testpmd.stop();
                streams = testpmd.streamStats();
            }
            Map<String, Long> counters = jvdpa.stop();
            checkNegotiated(jvdpa.log(), queues, packed);
            ForwardStats port0 = stats.stream().filter(s -> s.port() == 0).findFirst().orElseThrow();
            return new Run(port0, streams, counters, workerCpus);
        }
    }

    /** Busy-polling workers, each on a CPU of its own (testpmd's lcores are on CPU 0): exact counts as in events. */
    @ParameterizedTest(name = "packed {0}")
    @CsvSource({"false", "true"})
    void pollingWorkersOnCpusOfTheirOwnCountExactly(boolean packed) throws Exception {
        BitSet allowed = CpuAffinity.ofCurrentThread();
        String cpus = allowed.stream().mapToObj(Integer::toString).collect(Collectors.joining(","));
        int workers = allowed.cardinality();
        Run r = run("sink", 2, packed, Testpmd.ForwardMode.TXONLY,
                List.of("--poll", "--workers", Integer.toString(workers), "--worker-cpus", cpus));
        assertThat(r.testpmd().txPackets()).as("testpmd sent").isGreaterThan(10_000);
        assertThat(r.jvdpa().get("tx-frames")).as("jvdpa %s", r.jvdpa()).isEqualTo(r.testpmd().txPackets());
        assertThat(r.jvdpa().get("tx-errors")).isZero();
        Map<String, String> expected = new TreeMap<>();
        int i = 0;
        for (int cpu = allowed.nextSetBit(0); cpu >= 0; cpu = allowed.nextSetBit(cpu + 1)) {
            expected.put("net-worker-" + i++, Integer.toString(cpu));
        }
        assertThat(r.workerCpus()).as("the CPUs each worker thread may run on").isEqualTo(expected);
        checkEveryPairCarried(r, 2, StreamStats::txPackets);
    }

    private static Map<String, String> workerCpus(long pid) throws IOException {
        Map<String, String> cpus = new TreeMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks.toList()) {
                String name = Files.readString(task.resolve("comm")).trim();
                if (name.startsWith("net-worker-")) {
                    cpus.put(name, cpusAllowedList(task.resolve("status")));
                }
            }
        }
        return cpus;
    }

    private static String cpusAllowedList(Path status) throws IOException {
        return Files.readAllLines(status).stream().filter(l -> l.startsWith("Cpus_allowed_list:"))
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst()
                .orElseThrow(() -> new IOException("no Cpus_allowed_list in " + status));
    }

    @ParameterizedTest(name = "{0} queue pair(s), packed {1}")
    @CsvSource({"1, false", "1, true", "4, false", "4, true"})
    void guestToDeviceIsCountedExactly(int queues, boolean packed) throws Exception {
        Run r = run("sink", queues, packed, Testpmd.ForwardMode.TXONLY);
        assertThat(r.testpmd().txPackets()).as("testpmd sent").isGreaterThan(10_000);
        assertThat(r.jvdpa().get("tx-frames")).as("jvdpa %s", r.jvdpa()).isEqualTo(r.testpmd().txPackets());
        assertThat(r.jvdpa().get("sink-frames")).isEqualTo(r.testpmd().txPackets());
        assertThat(r.jvdpa().get("tx-bytes")).isEqualTo(64 * r.testpmd().txPackets());
        assertThat(r.jvdpa().get("tx-errors")).isZero();
        checkEveryPairCarried(r, queues, StreamStats::txPackets);
    }

    @ParameterizedTest(name = "{0} queue pair(s), packed {1}")
    @CsvSource({"1, false", "1, true", "4, false", "4, true"})
    void deviceToGuestIsCountedUpToTheFramesLeftInTheRings(int queues, boolean packed) throws Exception {
        // testpmd drains and forgets what is in its receive queues before it starts counting, unless told not to.
        Run r = run("source", queues, packed, Testpmd.ForwardMode.RXONLY, "--no-flush-rx");
        long received = r.testpmd().rxPackets();
        assertThat(received).as("testpmd received").isGreaterThan(10_000);
        assertThat(r.jvdpa().get("rx-frames")).as("jvdpa %s", r.jvdpa())
                .isBetween(received, received + (long) queues * RING);
        assertThat(r.jvdpa().get("generated")).isEqualTo(r.jvdpa().get("rx-frames"));
        assertThat(r.testpmd().rxDropped()).isZero();
        checkEveryPairCarried(r, queues, StreamStats::rxPackets);
    }

    @ParameterizedTest(name = "{0} queue pair(s), packed {1}")
    @CsvSource({"1, false", "1, true", "4, false", "4, true"})
    void framesGoBothWaysThroughReflect(int queues, boolean packed) throws Exception {
        // testpmd sends a first burst per queue, then forwards whatever comes back: a loop through jvdpa.
        Run r = run("reflect", queues, packed, Testpmd.ForwardMode.IO, "--tx-first", "--no-flush-rx");
        Map<String, Long> j = r.jvdpa();
        assertThat(r.testpmd().rxPackets()).as("round trips").isGreaterThan(10_000);
        assertThat(j.get("tx-frames")).as("jvdpa %s", j).isEqualTo(r.testpmd().txPackets());
        assertThat(j.get("rx-frames")).isBetween(r.testpmd().rxPackets(), r.testpmd().rxPackets() + (long) queues * RING);
        assertThat(j.get("rx-frames") + j.get("rx-dropped")).isLessThanOrEqualTo(j.get("tx-frames"));
        assertThat(j.get("tx-frames") - j.get("rx-frames") - j.get("rx-dropped"))
                .as("frames still waiting in jvdpa at the end").isLessThanOrEqualTo((long) queues * RING);
        checkEveryPairCarried(r, queues, StreamStats::rxPackets);
        checkEveryPairCarried(r, queues, StreamStats::txPackets);
    }

    /**
     * jvdpa's log: the driver acked RING_PACKED exactly for a packed cell and MQ exactly with several pairs, and
     * the receive and transmit queue of every pair (and no other queue) started with the cell's ring layout.
     */
    private static void checkNegotiated(String log, int queues, boolean packed) {
        Matcher acked = FEATURES_ACKED.matcher(log);
        assertThat(acked.find()).as("a 'features acked' line in jvdpa's log:\n%s", log).isTrue();
        List<String> features = List.of(acked.group(1).split(",\\s*"));
        assertThat(features.contains("RING_PACKED")).as("RING_PACKED in %s", features).isEqualTo(packed);
        assertThat(features.contains("MQ")).as("MQ in %s", features).isEqualTo(queues > 1);
        Map<Integer, String> started = new TreeMap<>();
        Matcher q = QUEUE_STARTED.matcher(log);
        while (q.find()) {
            started.put(Integer.parseInt(q.group(1)), q.group(2));
        }
        Map<Integer, String> expected = new TreeMap<>();
        for (int i = 0; i < 2 * queues; i++) {
            expected.put(i, packed ? "packed" : "split");
        }
        assertThat(started).as("queues jvdpa started, with their layout").isEqualTo(expected);
    }

    /** With several pairs, testpmd's stream on each queue moved frames in the direction {@code moved} counts. */
    private static void checkEveryPairCarried(Run r, int queues, ToLongFunction<StreamStats> moved) {
        if (queues == 1) {
            return; // testpmd prints per-stream counters only with more streams than ports; the port's are the pair's
        }
        Map<Integer, Long> perQueue = new TreeMap<>();
        for (StreamStats s : r.streams()) {
            perQueue.merge(s.rxQueue(), moved.applyAsLong(s), Long::sum);
        }
        for (int i = 0; i < queues; i++) {
            assertThat(perQueue.getOrDefault(i, 0L)).as("frames through pair %d; per stream %s", i, r.streams())
                    .isGreaterThan(PER_STREAM);
        }
    }
}

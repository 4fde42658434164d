package io.jvdpa.bench.sidebyside;

import io.jvdpa.testing.ManagedProcess;
import io.jvdpa.testing.PortStats;
import io.jvdpa.testing.RepoRoot;
import io.jvdpa.testing.Testpmd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The net side-by-side: DPDK testpmd's virtio-user front-end (one core) against DPDK's vhost PMD and against
 * jvdpa net, in the same run, for each direction, frame size and ring format. Each back-end gets the other
 * core. Each row is measured in rounds, both back-ends in each (who goes first alternates), so that both meet the
 * machine's moods alike.
 * Prints a Markdown table of Mpps seen by the front-end (median and range over the rounds), the ratio jvdpa / DPDK
 * of the medians and its range per round, and the bytes jvdpa's data-path threads allocated per packet according
 * to a flight recording of each run ({@link WorkerAllocation}).
 *
 * <p>Run with {@code scripts/bench-net [seconds] [--rounds N] [word...]}: only rows whose description contains every
 * word run (e.g. {@code scripts/bench-net 8 --rounds 5 split 64}).
 */
public final class NetSideBySide {
    /** What the front-end does, what DPDK's back-end does, and which jvdpa network plays that part. */
    enum Scenario {
        GUEST_TO_BACKEND("guest -> back-end", Testpmd.ForwardMode.TXONLY, Testpmd.ForwardMode.RXONLY, "sink", false),
        BACKEND_TO_GUEST("back-end -> guest", Testpmd.ForwardMode.RXONLY, Testpmd.ForwardMode.TXONLY, "source", true),
        REFLECT("guest -> back-end -> guest", Testpmd.ForwardMode.FLOWGEN, Testpmd.ForwardMode.MACSWAP, "reflect", true);

        final String label;
        final Testpmd.ForwardMode frontend;
        final Testpmd.ForwardMode dpdkBackend;
        final String jvdpaNetwork;
        final boolean measureRx;

        Scenario(String label, Testpmd.ForwardMode frontend, Testpmd.ForwardMode dpdkBackend, String jvdpaNetwork,
                 boolean measureRx) {
            this.label = label;
            this.frontend = frontend;
            this.dpdkBackend = dpdkBackend;
            this.jvdpaNetwork = jvdpaNetwork;
            this.measureRx = measureRx;
        }
    }

    /** One row over its rounds: each round measured both back-ends, one after the other. */
    record Row(Scenario scenario, int frame, boolean packed, List<Double> dpdkMpps, List<Double> jvdpaMpps,
               double bytesPerPacket) {
        String describe() {
            return describe(scenario, frame, packed);
        }

        static String describe(Scenario s, int frame, boolean packed) {
            return s.label + " " + s.jvdpaNetwork + " " + frame + " " + (packed ? "packed" : "split");
        }

        /** Each round's jvdpa / DPDK. */
        List<Double> ratios() {
            List<Double> r = new ArrayList<>();
            for (int i = 0; i < dpdkMpps.size(); i++) {
                r.add(dpdkMpps.get(i) > 0 ? jvdpaMpps.get(i) / dpdkMpps.get(i) : 0);
            }
            return r;
        }
    }

    /** Which row: a scenario, a frame size and a ring format. */
    record RowSpec(Scenario scenario, int frame, boolean packed) {
        /** Every row, in table order; jvdpa's source network makes 64-byte frames only. */
        static List<RowSpec> all() {
            List<RowSpec> all = new ArrayList<>();
            for (Scenario s : Scenario.values()) {
                for (int frame : s == Scenario.BACKEND_TO_GUEST ? new int[] {64} : new int[] {64, 1500}) {
                    all.add(new RowSpec(s, frame, false));
                    all.add(new RowSpec(s, frame, true));
                }
            }
            return all;
        }

        String describe() {
            return Row.describe(scenario, frame, packed);
        }
    }

    /** Rate seen by the front-end, and for jvdpa the workers' allocation over the same seconds (NaN if unknown). */
    record Measurement(double mpps, double bytesPerPacket) {}

    /** The measured window: the front-end's last three one-second statistics blocks. */
    private static final int WINDOW_SECONDS = 3;

    /** {@code [seconds] [--rounds N] [word...]}: seconds per run, rounds per row, words a row's description has. */
    public static void main(String[] args) throws Exception {
        Usage.run("scripts/bench-net", "[seconds] [--rounds N] [word...]", args, NetSideBySide::measureRows);
    }

    private static void measureRows(String[] args) throws Exception {
        int seconds = 6;
        int rounds = 3;
        List<String> words = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--rounds")) {
                if (i + 1 == args.length) {
                    throw new Usage.Refused("--rounds takes a number of rounds");
                }
                rounds = Usage.count(args[++i], "--rounds");
            } else if (i == 0 && args[i].matches("\\d+")) {
                seconds = Usage.count(args[i], "seconds");
            } else if (args[i].startsWith("-")) {
                throw new Usage.Refused("unknown option " + args[i]);
            } else {
                words.add(args[i]);
            }
        }
        List<RowSpec> chosen = RowSpec.all().stream()
                .filter(r -> words.stream().allMatch(r.describe()::contains)).toList();
        if (chosen.isEmpty()) {
            throw new Usage.Refused("no row's description has every word of " + words + "; the rows are "
                    + RowSpec.all().stream().map(RowSpec::describe).toList());
        }
        Path dir = Files.createTempDirectory("jvdpa-bench-net");
        List<Row> rows = new ArrayList<>();
        for (RowSpec spec : chosen) {
            Scenario s = spec.scenario();
            int frame = spec.frame();
            boolean packed = spec.packed();
            List<Double> dpdk = new ArrayList<>();
            List<Double> jvdpa = new ArrayList<>();
            double allocation = Double.NaN;
            for (int round = 0; round < rounds; round++) {
                // Who goes first alternates, so that neither back-end always meets the machine first.
                boolean jvdpaFirst = round % 2 == 1;
                Measurement first = measure(dir, s, frame, packed, jvdpaFirst, seconds);
                Measurement second = measure(dir, s, frame, packed, !jvdpaFirst, seconds);
                Measurement d = jvdpaFirst ? second : first;
                Measurement j = jvdpaFirst ? first : second;
                dpdk.add(d.mpps());
                jvdpa.add(j.mpps());
                if (!Double.isNaN(j.bytesPerPacket())) {
                    allocation = Double.isNaN(allocation) ? j.bytesPerPacket()
                            : Math.max(allocation, j.bytesPerPacket());
                }
                System.err.printf(Locale.ROOT, "%s, round %d: DPDK %.2f Mpps, jvdpa %.2f Mpps, %.2f B/packet "
                        + "allocated%n", spec.describe(), round + 1, d.mpps(), j.mpps(), j.bytesPerPacket());
            }
            rows.add(new Row(s, frame, packed, dpdk, jvdpa, allocation));
        }
        System.out.println("| direction | frame | ring | DPDK vhost (Mpps), median (min - max) | jvdpa (Mpps), median "
                + "(min - max) | jvdpa / DPDK, medians | per round | jvdpa allocation (B/packet, JFR, most) |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (Row r : rows) {
            double dpdk = Stats.of(r.dpdkMpps()).median();
            double jvdpa = Stats.of(r.jvdpaMpps()).median();
            Stats ratios = Stats.of(r.ratios());
            System.out.printf(Locale.ROOT, "| %s | %d B | %s | %s | %s | %.2f | %.2f - %.2f | %s |%n",
                    r.scenario.label, r.frame, r.packed ? "packed" : "split", spread(r.dpdkMpps()),
                    spread(r.jvdpaMpps()), dpdk > 0 ? jvdpa / dpdk : 0, ratios.min(), ratios.max(),
                    Double.isNaN(r.bytesPerPacket()) ? "n/a" : String.format(Locale.ROOT, "%.2f", r.bytesPerPacket()));
        }
        Files.deleteIfExists(dir.resolve("jvdpa.sock"));
        Files.deleteIfExists(dir.resolve("dpdk.sock"));
        Files.deleteIfExists(dir.resolve("jvdpa.jfr"));
        Files.deleteIfExists(dir);
    }

    /** "median (min - max)" of the rounds. */
    private static String spread(List<Double> values) {
        Stats st = Stats.of(values);
        return String.format(Locale.ROOT, "%.2f (%.2f - %.2f)", st.median(), st.min(), st.max());
    }

    /** Mpps as the front-end sees it, averaged over the last stats blocks of a run of {@code seconds}. */
    private static Measurement measure(Path dir, Scenario s, int frame, boolean packed, boolean jvdpa,
                                       int seconds) throws IOException, InterruptedException {
        Path socket = dir.resolve(jvdpa ? "jvdpa.sock" : "dpdk.sock");
        Path recording = dir.resolve("jvdpa.jfr");
        Files.deleteIfExists(socket);
        Files.deleteIfExists(recording);
        double mpps;
        Instant end;
        ManagedProcess jvdpaProcess = null;
        Testpmd backend = null;
        try {
            if (jvdpa) {
                Path repo = RepoRoot.find();
                jvdpaProcess = ManagedProcess.builder("jvdpa-net-" + s.jvdpaNetwork)
                        .command(List.of("taskset", "-c", "1", repo.resolve("jvdpa").toString(), "net",
                                "--socket-path", socket.toString(), "--network", s.jvdpaNetwork, "--poll",
                                "--log-level", "warn"))
                        .environment("JVDPA_JAVA_OPTS", WorkerAllocation.jvmOptions(recording))
                        .maxLifetime(Duration.ofMinutes(5)).start();
                jvdpaProcess.awaitPath(socket, Duration.ofSeconds(120));
            } else {
                backend = Testpmd.vhostBackend(socket).forwardMode(s.dpdkBackend).lcores("0@1,1@1")
                        .name("dpdk-vhost-" + s.dpdkBackend.name().toLowerCase(Locale.ROOT))
                        .appArgs("--txpkts=" + frame).start();
            }
            try (Testpmd frontend = Testpmd.virtioUserFrontend(socket).forwardMode(s.frontend).packed(packed)
                    .lcores("0@0,1@0").appArgs("--txpkts=" + frame).name("virtio-user").start()) {
                Thread.sleep(Duration.ofSeconds(seconds));
                end = Instant.now();
                List<PortStats> last = frontend.recentStats(0, WINDOW_SECONDS);
                double sum = 0;
                for (PortStats p : last) {
                    sum += s.measureRx ? p.rxPps() : p.txPps();
                }
                mpps = last.isEmpty() ? 0 : sum / last.size() / 1e6;
            }
        } finally {
            if (backend != null) {
                backend.close();
            }
            if (jvdpaProcess != null) {
                jvdpaProcess.signal("TERM");
                jvdpaProcess.waitFor(Duration.ofSeconds(10));
                jvdpaProcess.close();
            }
        }
        if (!jvdpa) {
            return new Measurement(mpps, Double.NaN);
        }
        WorkerAllocation allocation;
        try {
            allocation = WorkerAllocation.read(recording, end, Duration.ofSeconds(WINDOW_SECONDS + 1));
        } catch (IOException e) {
            // A recording that jvdpa did not write out (it stopped too slowly and was killed) costs one figure, not
            // the run.
            System.err.println(Row.describe(s, frame, packed) + ": no allocation figure: " + e.getMessage());
            return new Measurement(mpps, Double.NaN);
        }
        double perPacket = mpps > 0 ? allocation.bytesPerSecond() / (mpps * 1e6) : Double.NaN;
        if (!allocation.sites().isEmpty()) {
            System.err.println(Row.describe(s, frame, packed) + ": allocation sampled on the workers (bytes, JFR "
                    + "weight): " + allocation.sites());
        }
        return new Measurement(mpps, perPacket);
    }

    private NetSideBySide() {}
}

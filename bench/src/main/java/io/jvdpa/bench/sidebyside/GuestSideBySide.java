package io.jvdpa.bench.sidebyside;

import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.GuestVirtioDevice;
import io.jvdpa.testing.ManagedProcess;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.RepoRoot;
import io.jvdpa.testing.VhostUserBlk;
import io.jvdpa.testing.VhostUserNet;
import io.jvdpa.testing.VirtioMode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The guest-visible side-by-side: real guests of every driver kind (x86 modern, legacy-only, transitional forced
 * legacy, packed; s390x big-endian modern and legacy) each with a jvdpa net device on a TAP and a jvdpa blk device
 * on a tmpfs image, measured with the guest's own tools: bulk TCP each way through busybox nc, sequential direct
 * I/O with dd, 4 KiB random reads with fio where the guest image has it. Every legacy, packed or big-endian row is
 * compared with the modern row of its own architecture. Reference rows run the same net workloads on QEMU's own
 * virtio-net (no vhost, no jvdpa), legacy against modern, to show what the guest's driver and transport cost by
 * themselves.
 *
 * <p>TCG guests on a small shared machine are noisy, so the kinds are measured round-robin (one workload across all
 * kinds, then the next, the starting kind rotating each round), the first round only warms up the JIT of the
 * back-ends and QEMU's translation cache, and the ratio to modern is taken per round, between samples taken
 * minutes apart rather than at opposite ends of the run. The table reports medians and spreads, and says when the
 * spread is too wide to decide a 5% question.
 *
 * <p>Run with {@code scripts/bench-guest [rounds]}.
 */
public final class GuestSideBySide {
    private static final int MIB = 1 << 20;
    /** Bulk size of each net and dd transfer. */
    private static final int BULK = 32 * MIB;
    private static final long IMAGE_SIZE = 64L * MIB;
    private static final int FIO_SECONDS = 5;
    private static final double TARGET = 0.95;
    private static final Duration SHORT = Duration.ofSeconds(60);
    private static final Duration LONG = Duration.ofMinutes(3);
    private static final int UP_PORT = 5001;
    private static final int DOWN_PORT = 5002;
    /** The guest's monotonic clock in ns: line 3 of /proc/timer_list is "now at N nsecs" (busybox date has no %N). */
    private static final String GUEST_NOW = "$(sed -n '3{s/[^0-9]//g;p;q}' /proc/timer_list)";

    /** The net feature bits worth naming when two rows differ (VIRTIO 1.2 §5.1.3, §6). */
    private static final SortedMap<Integer, String> NET_FEATURES = names(Map.ofEntries(Map.entry(0, "CSUM"),
            Map.entry(1, "GUEST_CSUM"), Map.entry(7, "GUEST_TSO4"), Map.entry(8, "GUEST_TSO6"),
            Map.entry(11, "HOST_TSO4"), Map.entry(12, "HOST_TSO6"), Map.entry(15, "MRG_RXBUF"),
            Map.entry(27, "ANY_LAYOUT"), Map.entry(28, "INDIRECT_DESC"), Map.entry(29, "EVENT_IDX"),
            Map.entry(32, "VERSION_1"), Map.entry(34, "RING_PACKED")));
    /** The blk feature bits worth naming (VIRTIO 1.2 §5.2.3, §6). */
    private static final SortedMap<Integer, String> BLK_FEATURES = names(Map.ofEntries(Map.entry(2, "SEG_MAX"),
            Map.entry(9, "FLUSH"), Map.entry(27, "ANY_LAYOUT"), Map.entry(28, "INDIRECT_DESC"),
            Map.entry(29, "EVENT_IDX"), Map.entry(32, "VERSION_1"), Map.entry(34, "RING_PACKED")));

    enum Kind {
        X86_MODERN("x86 modern", GuestArch.X86_64, VirtioMode.MODERN_ONLY, false, false),
        X86_LEGACY_ONLY("x86 legacy-only device", GuestArch.X86_64, VirtioMode.LEGACY_ONLY, false, false),
        X86_FORCED_LEGACY("x86 transitional, driver forced legacy", GuestArch.X86_64, VirtioMode.TRANSITIONAL, true,
                false),
        X86_PACKED("x86 packed ring", GuestArch.X86_64, VirtioMode.PACKED, false, false),
        S390X_MODERN("s390x modern (big-endian guest)", GuestArch.S390X, VirtioMode.MODERN_ONLY, false, false),
        S390X_LEGACY("s390x legacy, big-endian", GuestArch.S390X, VirtioMode.LEGACY_ONLY, false, false),
        X86_REFERENCE_MODERN("reference: x86 modern, QEMU's own virtio-net", GuestArch.X86_64, VirtioMode.MODERN_ONLY,
                false, true),
        X86_REFERENCE_LEGACY("reference: x86 legacy-only, QEMU's own virtio-net", GuestArch.X86_64,
                VirtioMode.LEGACY_ONLY, false, true),
        S390X_REFERENCE_MODERN("reference: s390x modern, QEMU's own virtio-net", GuestArch.S390X,
                VirtioMode.MODERN_ONLY, false, true),
        S390X_REFERENCE_LEGACY("reference: s390x legacy, QEMU's own virtio-net", GuestArch.S390X,
                VirtioMode.LEGACY_ONLY, false, true);

        final String label;
        final GuestArch arch;
        final VirtioMode mode;
        final boolean forceLegacy;
        /**
         * The net device is QEMU's own virtio-net on a TAP (no vhost, no jvdpa): the same guest driver and
         * transport, so a legacy-versus-modern gap that shows here too comes from the guest's side, not the back-end.
         */
        final boolean reference;

        Kind(String label, GuestArch arch, VirtioMode mode, boolean forceLegacy, boolean reference) {
            this.label = label;
            this.arch = arch;
            this.mode = mode;
            this.forceLegacy = forceLegacy;
            this.reference = reference;
        }

        boolean legacy() {
            return mode == VirtioMode.LEGACY_ONLY || forceLegacy;
        }

        Kind baseline() {
            if (reference) {
                return arch == GuestArch.S390X ? S390X_REFERENCE_MODERN : X86_REFERENCE_MODERN;
            }
            return arch == GuestArch.S390X ? S390X_MODERN : X86_MODERN;
        }

        /** QEMU 7.2 has no vhost-user-blk on s390x's channel bus, and zPCI has no I/O BAR for a legacy device. */
        boolean blkExpressible() {
            return !(arch == GuestArch.S390X && legacy());
        }

        boolean hasBlk() {
            return !reference && blkExpressible();
        }

        String mac() {
            return String.format(Locale.ROOT, "52:54:00:ab:00:%02x", ordinal() + 1);
        }

        String hostIp() {
            return "10.79." + (ordinal() + 1) + ".1";
        }

        String guestIp() {
            return "10.79." + (ordinal() + 1) + ".15";
        }
    }

    enum Workload {
        NET_UP("net: TCP guest -> host, 32 MiB (busybox nc)", "net up", "MB/s", false, false),
        NET_DOWN("net: TCP host -> guest, 32 MiB (busybox nc)", "net down", "MB/s", false, false),
        BLK_WRITE("blk: sequential write, 64 KiB direct, 32 MiB (dd)", "dd write", "MB/s", true, false),
        BLK_READ("blk: sequential read, 64 KiB direct, 32 MiB (dd)", "dd read", "MB/s", true, false),
        BLK_RANDREAD_1("blk: 4 KiB random read, depth 1 (fio psync)", "fio depth 1", "IOPS", true, true),
        BLK_RANDREAD_16("blk: 4 KiB random read, depth 16 (fio libaio)", "fio depth 16", "IOPS", true, true);

        final String label;
        final String shortName;
        final String unit;
        final boolean blk;
        final boolean fio;

        Workload(String label, String shortName, String unit, boolean blk, boolean fio) {
            this.label = label;
            this.shortName = shortName;
            this.unit = unit;
            this.blk = blk;
            this.fio = fio;
        }
    }

    /** One guest with its two back-ends and the network namespace holding the host end of its TAP. */
    static final class Rig implements AutoCloseable {
        final Kind kind;
        final String namespace;
        final Path image;
        ManagedProcess net;
        ManagedProcess blk;
        QemuGuest guest;
        boolean hasFio;
        boolean namespaceCreated;
        /** The TAP QEMU's own virtio-net uses in a reference row, or null. */
        String referenceTap;
        /** The guest's view of each device's negotiated features, by virtio device ID. */
        final Map<Integer, String> features = new TreeMap<>();

        Rig(Kind kind, String namespace, Path image) {
            this.kind = kind;
            this.namespace = namespace;
            this.image = image;
        }

        @Override
        public void close() {
            if (guest != null) {
                guest.close();
            }
            if (referenceTap != null) {
                // Made persistent for QEMU to attach to: it outlives QEMU, in whichever namespace it got to.
                runQuietly("ip", "link", "del", referenceTap);
                runQuietly("ip", "netns", "exec", namespace, "ip", "link", "del", referenceTap);
            }
            if (net != null) {
                net.close();
            }
            if (blk != null) {
                blk.close();
            }
            if (namespaceCreated) {
                runQuietly("ip", "netns", "del", namespace);
            }
        }
    }

    private final int rounds;
    private final Path work;
    private final Path shm;
    private final List<String> jvdpaCommand;
    private final Map<Kind, Rig> rigs = new EnumMap<>(Kind.class);
    /** samples[kind][workload][round], NaN where the measurement failed or does not apply. */
    private final Map<Kind, Map<Workload, double[]>> samples = new EnumMap<>(Kind.class);
    private final byte[] downData = new byte[BULK];
    /** The 1-minute load average at each counted measurement: what else the machine was doing meanwhile. */
    private final List<Double> loads = new ArrayList<>();

    private GuestSideBySide(int rounds, Path work, Path shm, List<String> jvdpaCommand) {
        this.rounds = rounds;
        this.work = work;
        this.shm = shm;
        this.jvdpaCommand = jvdpaCommand;
        new SplittableRandom(7).nextBytes(downData);
        for (Kind k : Kind.values()) {
            Map<Workload, double[]> m = new EnumMap<>(Workload.class);
            for (Workload w : Workload.values()) {
                double[] a = new double[rounds];
                Arrays.fill(a, Double.NaN);
                m.put(w, a);
            }
            samples.put(k, m);
        }
    }

    public static void main(String[] args) throws Exception {
        Usage.run("scripts/bench-guest", "[rounds]", args, GuestSideBySide::measure);
    }

    private static void measure(String[] args) throws Exception {
        if (args.length > 1) {
            throw new Usage.Refused("at most one argument, not " + args.length);
        }
        int rounds = args.length > 0 ? Usage.count(args[0], "rounds") : 5;
        long begin = System.nanoTime();
        String loadBefore = loadAverage();
        String built = sourceVersion();
        Path root = RepoRoot.find();
        Path work = Files.createTempDirectory("jvdpa-bench-guest");
        Path shm = Files.createTempDirectory(Path.of("/dev/shm"), "jvdpa-bench-guest");
        List<String> jvdpa;
        try {
            jvdpa = snapshotJvdpa(root, work);
        } catch (IOException | RuntimeException e) {
            deleteTree(shm);
            deleteTree(work);
            throw e;
        }
        GuestSideBySide bench = new GuestSideBySide(rounds, work, shm, jvdpa);
        // Also on ^C: the namespaces and the tmpfs images would otherwise outlive the run.
        AtomicBoolean cleaned = new AtomicBoolean();
        Runnable cleanUp = () -> {
            if (cleaned.compareAndSet(false, true)) {
                bench.tearDown();
                deleteTree(shm);
                deleteTree(work);
            }
        };
        Runtime.getRuntime().addShutdownHook(new Thread(cleanUp, "gbench-clean-up"));
        try {
            bench.setUp();
            bench.run();
        } finally {
            cleanUp.run();
        }
        Duration took = Duration.ofNanos(System.nanoTime() - begin);
        System.out.print(bench.report(built, loadBefore, loadAverage(), took));
    }

    /**
     * jvdpa's jar and libraries copied aside, so a rebuild of cli/target during a run (by hand or by ./jvdpa)
     * cannot change the back-end between one row and the next.
     */
    private static List<String> snapshotJvdpa(Path root, Path work) throws IOException {
        Path jar = root.resolve("cli/target/jvdpa-cli.jar");
        Path lib = root.resolve("cli/target/lib");
        if (!Files.isRegularFile(jar) || !Files.isDirectory(lib)) {
            throw new IllegalStateException(jar + " is missing: build with mvn -pl cli,bench -am package -DskipTests");
        }
        Path dest = Files.createDirectories(work.resolve("jvdpa"));
        Files.copy(jar, dest.resolve("jvdpa-cli.jar"));
        Path destLib = Files.createDirectories(dest.resolve("lib"));
        try (DirectoryStream<Path> jars = Files.newDirectoryStream(lib, "*.jar")) {
            for (Path j : jars) {
                Files.copy(j, destLib.resolve(j.getFileName()));
            }
        }
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseZGC", "-Xmx512m",
                "-cp", dest.resolve("jvdpa-cli.jar") + ":" + destLib + "/*", "io.jvdpa.cli.Main");
    }

    /** Boots the guests one after the other (parallel TCG boots on two cores only slow each other down). */
    private void setUp() throws Exception {
        long pid = ProcessHandle.current().pid();
        for (Kind k : Kind.values()) {
            progress("starting %s", k.label);
            // Named per run, so a namespace or TAP left by a run that was killed cannot collide with this one.
            Rig rig = new Rig(k, "jvdpa-gbench-" + pid + "-" + k.ordinal(), shm.resolve("disk-" + k.ordinal() + ".img"));
            rigs.put(k, rig);
            bootRig(rig, "jvgb" + (pid % 100000) + k.ordinal());
        }
    }

    private void bootRig(Rig rig, String tap) throws Exception {
        Kind k = rig.kind;
        Path netSock = work.resolve("net-" + k.ordinal() + ".sock");
        Path blkSock = work.resolve("blk-" + k.ordinal() + ".sock");
        run("ip", "netns", "add", rig.namespace);
        rig.namespaceCreated = true;
        if (k.hasBlk()) {
            writeImage(rig.image);
            rig.blk = jvdpa("gbench-blk-" + k, "blk", "--socket-path", blkSock.toString(), "--image",
                    rig.image.toString(), "--log-level", "warn");
            rig.blk.awaitPath(blkSock, SHORT);
        }
        // Two vCPUs: with one, TCG drops the guest's barriers and a notification to the back-end can be lost.
        QemuGuest.Builder b = QemuGuest.builder(k.arch).name("gbench-" + k).cpus(2).memoryMiB(512)
                .maxLifetime(Duration.ofHours(6)).bootTimeout(Duration.ofMinutes(3)).forceLegacy(k.forceLegacy);
        if (k.reference) {
            // QEMU attaches to a TAP by name in its own namespace: made here, moved once the guest runs.
            run("ip", "tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr");
            rig.referenceTap = tap;
            String device = k.arch == GuestArch.S390X
                    ? "virtio-net-ccw,netdev=ref0,mac=" + k.mac() + (k.legacy() ? ",max_revision=0" : "")
                    // vectors=0 as on the jvdpa rows, so both take the same INTx interrupt path.
                    : "virtio-net-pci,netdev=ref0,mac=" + k.mac() + ",vectors=0"
                            + (k.legacy() ? ",disable-modern=on" : ",disable-legacy=on");
            b.qemuArgs("-netdev", "tap,id=ref0,ifname=" + tap + ",script=no,downscript=no,vhost=off", "-device", device);
        } else {
            rig.net = jvdpa("gbench-net-" + k, "net", "--socket-path", netSock.toString(), "--network", "tap:" + tap,
                    "--log-level", "warn");
            rig.net.awaitPath(netSock, SHORT);
            moveTap(rig, tap);
            b.net(VhostUserNet.of(netSock, k.mode).withMac(k.mac()));
        }
        if (rig.blk != null) {
            b.blk(VhostUserBlk.of(blkSock, k.mode));
        }
        rig.guest = b.start();
        checkDrivers(rig);
        if (k.reference) {
            moveTap(rig, tap);
        }
        QemuGuest g = rig.guest;
        g.execOk("ip link set eth0 up && ip addr add " + k.guestIp() + "/24 dev eth0", SHORT);
        g.execOk("ping -c 3 -W 5 " + k.hostIp() + " > /dev/null", SHORT);
        g.execOk("dd if=/dev/urandom of=/tmp/up bs=1M count=" + BULK / MIB + " 2>/dev/null", LONG);
        rig.hasFio = rig.blk != null && g.exec("command -v fio", SHORT).succeeded();
        progress("%s booted in %d ms (fio %s); net: %s; blk: %s", k.label, g.bootTime().toMillis(),
                rig.hasFio ? "present" : "absent", named(rig.features.get(GuestVirtioDevice.NET), NET_FEATURES),
                named(rig.features.get(GuestVirtioDevice.BLOCK), BLK_FEATURES));
    }

    /** The host end of the TAP goes into the row's own namespace, with the host's address. */
    private static void moveTap(Rig rig, String tap) throws Exception {
        run("ip", "link", "set", tap, "netns", rig.namespace);
        run("ip", "netns", "exec", rig.namespace, "ip", "addr", "add", rig.kind.hostIp() + "/24", "dev", tap);
        run("ip", "netns", "exec", rig.namespace, "ip", "link", "set", tap, "up");
    }

    /** The guest's own sysfs must say it runs the driver kind the row is named after. */
    private static void checkDrivers(Rig rig) {
        Kind k = rig.kind;
        List<GuestVirtioDevice> devices = rig.guest.virtioDevices();
        int expected = rig.blk != null ? 2 : 1;
        if (devices.size() != expected) {
            throw new IllegalStateException(k.label + ": the guest sees " + devices.size() + " virtio devices, not "
                    + expected + ": " + devices);
        }
        for (GuestVirtioDevice d : devices) {
            rig.features.put(d.deviceId(), d.features());
            boolean packed = d.hasFeature(GuestVirtioDevice.RING_PACKED);
            if (!d.driverOk() || d.modern() == k.legacy() || packed != (k.mode == VirtioMode.PACKED)) {
                throw new IllegalStateException(k.label + ": the guest's driver is not of this kind: " + d);
            }
        }
    }

    private void run() {
        for (int round = 0; round <= rounds; round++) {
            String tag = round == 0 ? "warm-up" : "round " + round + "/" + rounds;
            Kind[] order = rotated(round);
            for (Workload w : Workload.values()) {
                for (Kind k : order) {
                    Rig rig = rigs.get(k);
                    if ((w.blk && rig.blk == null) || (w.fio && !rig.hasFio)) {
                        continue;
                    }
                    double value;
                    try {
                        value = measure(rig, w);
                    } catch (Exception e) {
                        progress("[%s] %s, %s: failed: %s", tag, w.label, k.label, e.getMessage());
                        continue;
                    }
                    progress("[%s] %s, %s: %.1f %s", tag, w.label, k.label, value, w.unit);
                    if (round > 0) {
                        samples.get(k).get(w)[round - 1] = value;
                        loads.add(oneMinuteLoad());
                    }
                }
            }
        }
    }

    /** The kinds in their order, starting one further each round, so no kind always runs first or last. */
    private static Kind[] rotated(int round) {
        Kind[] all = Kind.values();
        Kind[] out = new Kind[all.length];
        for (int i = 0; i < all.length; i++) {
            out[i] = all[(i + round) % all.length];
        }
        return out;
    }

    private double measure(Rig rig, Workload w) throws Exception {
        return switch (w) {
            case NET_UP -> guestToHost(rig);
            case NET_DOWN -> hostToGuest(rig);
            case BLK_WRITE -> dd(rig, "if=/tmp/up of=/dev/vda bs=64k oflag=direct");
            case BLK_READ -> dd(rig, "if=/dev/vda of=/dev/null bs=64k count=" + BULK / (64 * 1024) + " iflag=direct");
            case BLK_RANDREAD_1 -> fio(rig, "psync", 1);
            case BLK_RANDREAD_16 -> fio(rig, "libaio", 16);
        };
    }

    /**
     * The guest sends {@link #BULK} bytes from its tmpfs to a busybox nc listening in the namespace; the host times
     * the stream from its first read to end of file, so the connection set-up and the guest's process start are
     * not part of the figure.
     */
    private double guestToHost(Rig rig) throws Exception {
        Kind k = rig.kind;
        // The listener's stdin stays open (a pipe nobody closes): at EOF busybox nc half-closes, and the guest's
        // sender would stop early.
        Process listener = new ProcessBuilder("ip", "netns", "exec", rig.namespace, "busybox", "nc", "-l", "-p",
                Integer.toString(UP_PORT)).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            AtomicLong total = new AtomicLong();
            long[] times = new long[3]; // first read's end, its bytes, end of file
            Thread reader = Thread.ofPlatform().name("gbench-up-reader").start(() -> {
                byte[] buffer = new byte[256 * 1024];
                try (InputStream in = listener.getInputStream()) {
                    int n;
                    while ((n = in.read(buffer)) > 0) {
                        if (total.get() == 0) {
                            times[0] = System.nanoTime();
                            times[1] = n;
                        }
                        total.addAndGet(n);
                    }
                    times[2] = System.nanoTime();
                } catch (IOException e) {
                    times[2] = -1;
                }
            });
            rig.guest.execOk("for i in 1 2 3 4 5 6 7 8 9 10; do nc " + k.hostIp() + " " + UP_PORT
                    + " < /tmp/up && break; sleep 0.3; done", LONG);
            reader.join(Duration.ofSeconds(60));
            if (reader.isAlive() || times[2] <= 0 || total.get() != BULK) {
                throw new IllegalStateException("the host received " + total.get() + " of " + BULK + " bytes");
            }
            return (BULK - times[1]) / ((times[2] - times[0]) / 1e9) / 1e6;
        } finally {
            listener.destroyForcibly();
            listener.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * The host sends {@link #BULK} bytes to a busybox nc in the guest that runs {@code wc -c} on the connection; the
     * count wc writes back arrives only once the guest has read everything, so the host's clock runs from its
     * first byte written (on a connection already set up) to the guest's answer.
     */
    private double hostToGuest(Rig rig) throws Exception {
        Kind k = rig.kind;
        rig.guest.execOk("(nc -l -p " + DOWN_PORT + " -e wc -c > /dev/null 2>&1 &) ; sleep 0.2", SHORT);
        Process sender = null;
        boolean counted = false;
        try {
            for (int attempt = 0; attempt < 10 && sender == null; attempt++) {
                Process p = new ProcessBuilder("ip", "netns", "exec", rig.namespace, "busybox", "nc", k.guestIp(),
                        Integer.toString(DOWN_PORT)).redirectError(ProcessBuilder.Redirect.DISCARD).start();
                if (awaitEstablished(p, k.guestIp(), DOWN_PORT)) {
                    sender = p;
                } else {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                    Thread.sleep(300);
                }
            }
            if (sender == null) {
                throw new IllegalStateException("no connection to the guest's listener");
            }
            long start = System.nanoTime();
            try (OutputStream out = sender.getOutputStream()) {
                for (int at = 0; at < BULK; at += 256 * 1024) {
                    out.write(downData, at, Math.min(256 * 1024, BULK - at));
                }
            }
            InputStream in = sender.getInputStream();
            byte[] answer = new byte[64];
            int n = in.read(answer);
            long end = System.nanoTime();
            String count = n > 0 ? new String(answer, 0, n, StandardCharsets.US_ASCII).trim() : "";
            while (n > 0) {
                n = in.read(answer);
            }
            if (!count.equals(Integer.toString(BULK))) {
                throw new IllegalStateException("the guest counted '" + count + "' of " + BULK + " bytes");
            }
            counted = true;
            return BULK / ((end - start) / 1e9) / 1e6;
        } finally {
            if (sender != null) {
                sender.destroyForcibly();
                sender.waitFor(10, TimeUnit.SECONDS);
            }
            if (!counted) {
                rig.guest.exec("killall nc 2>/dev/null; true", SHORT); // a listener left over would hold the port
            }
        }
    }

    /**
     * Whether {@code p} (busybox nc after {@code ip netns exec}, which execs in place and keeps the pid) has an
     * established TCP connection to {@code ip:port}, as /proc/PID/net/tcp of its namespace shows.
     */
    private static boolean awaitEstablished(Process p, String ip, int port) throws Exception {
        String[] octets = ip.split("\\.");
        // /proc/net/tcp prints the address as the host-order value of the network-order word: reversed on x86.
        String remote = String.format(Locale.ROOT, "%02X%02X%02X%02X:%04X", Integer.parseInt(octets[3]),
                Integer.parseInt(octets[2]), Integer.parseInt(octets[1]), Integer.parseInt(octets[0]), port);
        Path table = Path.of("/proc", Long.toString(p.pid()), "net", "tcp");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                return false;
            }
            try {
                for (String line : Files.readAllLines(table)) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 3 && f[2].equals(remote) && f[3].equals("01")) {
                        return true;
                    }
                }
            } catch (IOException e) {
                // the process is exiting
            }
            Thread.sleep(20);
        }
        return false;
    }

    /** dd with direct I/O in the guest, timed by the guest's monotonic clock around dd alone. */
    private static double dd(Rig rig, String operands) {
        String out = rig.guest.execOk("t0=" + GUEST_NOW + "; dd " + operands + " 2>/dev/null || echo DD_FAILED; t1="
                + GUEST_NOW + "; echo TIMES $t0 $t1", LONG);
        if (out.contains("DD_FAILED")) {
            throw new IllegalStateException("dd " + operands + " failed: " + out);
        }
        String[] f = lastLineStarting(out, "TIMES").split("\\s+");
        long ns = Long.parseLong(f[2]) - Long.parseLong(f[1]);
        return BULK / (ns / 1e9) / 1e6;
    }

    /** fio's own IOPS over the whole disk, after a ramp second that is not counted. */
    private static double fio(Rig rig, String engine, int depth) {
        String out = rig.guest.execOk("fio --name=rr --filename=/dev/vda --rw=randread --bs=4k --direct=1 "
                + "--ioengine=" + engine + " --iodepth=" + depth + " --size=" + IMAGE_SIZE / MIB + "M --time_based "
                + "--runtime=" + FIO_SECONDS + " --ramp_time=1 --randrepeat=0 --minimal", LONG);
        // Terse format version 3: field 8 is the read IOPS.
        String[] f = lastLineStarting(out, "3;").split(";");
        return Double.parseDouble(f[7]);
    }

    private static String lastLineStarting(String text, String prefix) {
        List<String> lines = text.lines().filter(l -> l.startsWith(prefix)).toList();
        if (lines.isEmpty()) {
            throw new IllegalStateException("no line starting '" + prefix + "' in: " + text);
        }
        return lines.getLast();
    }

    private void tearDown() {
        for (Rig rig : rigs.values()) {
            try {
                rig.close();
            } catch (RuntimeException e) {
                progress("closing %s: %s", rig.kind.label, e.getMessage());
            }
        }
    }

    // ---- the report

    private String report(String built, String loadBefore, String loadAfter, Duration took) {
        StringBuilder t = new StringBuilder();
        t.append("| workload | guest | median (min - max) | ratio to modern: median (per-round min - max) | within 5% |\n");
        t.append("|---|---|---|---|---|\n");
        double widestBaseline = 0;
        List<String> baselineSpreads = new ArrayList<>();
        for (Workload w : Workload.values()) {
            for (Kind k : Kind.values()) {
                Rig rig = rigs.get(k);
                if (w.blk && !k.hasBlk()) {
                    if (w == Workload.BLK_WRITE && !k.reference) {
                        t.append("| blk (all) | ").append(k.label).append(" | not expressible with QEMU 7.2: no "
                                + "vhost-user-blk on s390x's channel bus, and a legacy zPCI device has no I/O BAR | | |\n");
                    }
                    continue;
                }
                if (w.fio && (rig == null || !rig.hasFio)) {
                    if (w == Workload.BLK_RANDREAD_1 && k == k.baseline()) {
                        t.append("| blk: fio | ").append(k.arch == GuestArch.S390X ? "s390x" : "x86")
                                .append(" | the guest image has no fio | | |\n");
                    }
                    continue;
                }
                double[] mine = samples.get(k).get(w);
                Stats s = Stats.of(mine);
                String value = s.n() == 0 ? "no sample" : String.format(Locale.ROOT, "%s %s (%s - %s)%s",
                        num(s.median()), w.unit, num(s.min()), num(s.max()), s.n() < rounds ? ", " + s.n() + " of " + rounds + " rounds" : "");
                String ratio;
                String verdict;
                if (k == k.baseline()) {
                    ratio = "1 (the baseline)";
                    verdict = "";
                    if (s.n() > 1) {
                        widestBaseline = Math.max(widestBaseline, s.relativeSpread());
                        baselineSpreads.add(String.format(Locale.ROOT, "%s%s %s %.0f%%", k.reference ? "reference " : "",
                                k.arch == GuestArch.S390X ? "s390x" : "x86", w.shortName,
                                100 * s.relativeSpread()));
                    }
                } else {
                    double[] base = samples.get(k.baseline()).get(w);
                    double[] perRound = new double[rounds];
                    for (int r = 0; r < rounds; r++) {
                        perRound[r] = mine[r] / base[r];
                    }
                    Stats q = Stats.of(perRound);
                    if (q.n() == 0) {
                        ratio = "no pair of samples";
                        verdict = "unknown";
                    } else {
                        ratio = String.format(Locale.ROOT, "%.3f (%.3f - %.3f)", q.median(), q.min(), q.max());
                        verdict = k.reference ? "(reference: no jvdpa in the path)" : verdict(q);
                    }
                }
                t.append("| ").append(w.label).append(" | ").append(k.label).append(" | ").append(value).append(" | ")
                        .append(ratio).append(" | ").append(verdict).append(" |\n");
            }
        }
        t.append('\n');
        t.append(String.format(Locale.ROOT, "%d rounds after a warm-up round, kinds measured round-robin; %s; jvdpa "
                + "built from %s; MB = 10^6 bytes. Machine: %s, %d CPUs, %s; load average %s at the start, %s at the "
                + "end. Run took %d min.%n", rounds, LocalDate.now(), built, cpuModel(),
                Runtime.getRuntime().availableProcessors(), qemuVersion(), loadBefore, loadAfter, took.toMinutes()));
        Stats load = Stats.of(loads);
        if (load.n() > 0) {
            t.append(String.format(Locale.ROOT, "1-minute load average at the measurements: median %.1f, %.1f - %.1f.%n",
                    load.median(), load.min(), load.max()));
        }
        t.append('\n');
        t.append("Negotiated, as the guests saw it: ");
        List<String> negotiated = new ArrayList<>();
        for (Kind k : Kind.values()) {
            Rig rig = rigs.get(k);
            if (rig == null) {
                continue;
            }
            if (k == k.baseline()) {
                String blk = rig.blk == null ? ""
                        : ", blk " + named(rig.features.get(GuestVirtioDevice.BLOCK), BLK_FEATURES);
                negotiated.add(k.label + " net " + named(rig.features.get(GuestVirtioDevice.NET), NET_FEATURES) + blk);
            } else {
                Rig base = rigs.get(k.baseline());
                String net = difference(rig.features.get(GuestVirtioDevice.NET),
                        base == null ? null : base.features.get(GuestVirtioDevice.NET), NET_FEATURES);
                String blk = rig.blk == null ? "" : ", blk " + difference(rig.features.get(GuestVirtioDevice.BLOCK),
                        base == null ? null : base.features.get(GuestVirtioDevice.BLOCK), BLK_FEATURES);
                negotiated.add(k.label + " against modern: net " + net + blk);
            }
        }
        t.append(String.join("; ", negotiated)).append(".\n\n");
        if (baselineSpreads.isEmpty()) {
            t.append("Noise: one round per row, so no spread to judge a 5% difference against.\n");
        } else {
            t.append(String.format(Locale.ROOT, "Noise: the modern rows' spread from round to round ((max - min) / "
                    + "median) was %s; the widest, %.0f%%, ", String.join(", ", baselineSpreads), 100 * widestBaseline));
            if (widestBaseline > 1 - TARGET) {
                t.append("is larger than the 5% being judged: on this machine a \"yes\" says where the median ratio "
                        + "lies, and a gap under 5% cannot be told from noise.\n");
            } else {
                t.append("is below the 5% being judged.\n");
            }
        }
        return t.toString();
    }

    /**
     * "yes" when the median per-round ratio is at least 0.95; "no" only when at least three rounds were all more
     * than 5% slower than modern in the same round; otherwise the rounds disagree and the spread is reported instead.
     */
    private static String verdict(Stats perRound) {
        if (perRound.median() >= TARGET) {
            return perRound.min() >= TARGET ? "yes" : "yes (median; some rounds below 0.95)";
        }
        if (perRound.max() < TARGET && perRound.n() >= 3) {
            return "**no**: slower in every round";
        }
        return "not resolved: below 0.95 at the median, rounds range " + String.format(Locale.ROOT, "%.2f - %.2f",
                perRound.min(), perRound.max());
    }

    private static String num(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    // ---- helpers

    private ManagedProcess jvdpa(String name, String... args) {
        List<String> command = new ArrayList<>(jvdpaCommand);
        command.addAll(List.of(args));
        return ManagedProcess.builder(name).command(command).maxLifetime(Duration.ofHours(6)).start();
    }

    /** A written image: reads reach real tmpfs pages, not holes. */
    private static void writeImage(Path image) throws IOException {
        byte[] chunk = new byte[MIB];
        new SplittableRandom(1).nextBytes(chunk);
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            for (long at = 0; at < IMAGE_SIZE; at += chunk.length) {
                f.write(chunk);
            }
        }
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }

    private static void runQuietly(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (IOException e) {
            // nothing to clean up
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static double oneMinuteLoad() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
        } catch (IOException | NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static SortedMap<Integer, String> names(Map<Integer, String> byBit) {
        return Collections.unmodifiableSortedMap(new TreeMap<>(byBit));
    }

    /** The named bits set in a features string as the guest prints it (character i is bit i). */
    private static String named(String bits, SortedMap<Integer, String> names) {
        if (bits == null) {
            return "-";
        }
        List<String> set = new ArrayList<>();
        for (Map.Entry<Integer, String> e : names.entrySet()) {
            if (e.getKey() < bits.length() && bits.charAt(e.getKey()) == '1') {
                set.add(e.getValue());
            }
        }
        return String.join(" ", set);
    }

    /** What a row negotiated beyond (+) or short of (-) its modern row, among the named bits. */
    private static String difference(String mine, String modern, SortedMap<Integer, String> names) {
        if (mine == null || modern == null) {
            return "";
        }
        List<String> out = new ArrayList<>();
        for (Map.Entry<Integer, String> e : names.entrySet()) {
            int bit = e.getKey();
            boolean a = bit < mine.length() && mine.charAt(bit) == '1';
            boolean b = bit < modern.length() && modern.charAt(bit) == '1';
            if (a != b) {
                out.add((a ? "+" : "-") + e.getValue());
            }
        }
        return out.isEmpty() ? "the same named features" : String.join(" ", out);
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " / " + f[1] + " / " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("unknown CPU");
        } catch (IOException e) {
            return "unknown CPU";
        }
    }

    /** The commit jvdpa was built from, marked "-dirty" when the working tree had changes. */
    private static String sourceVersion() {
        try {
            Process p = new ProcessBuilder("git", "-C", RepoRoot.find().toString(), "describe", "--always", "--dirty")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 && !out.isEmpty() ? "commit " + out : "an unknown commit";
        } catch (IOException | InterruptedException e) {
            return "an unknown commit";
        }
    }

    private static String qemuVersion() {
        try {
            Process p = new ProcessBuilder(GuestArch.X86_64.qemuBinary(), "--version").redirectErrorStream(true).start();
            String first = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().findFirst()
                    .orElse("QEMU");
            p.waitFor(10, TimeUnit.SECONDS);
            return first.replaceFirst("^QEMU emulator version ", "QEMU ") + " (TCG)";
        } catch (IOException | InterruptedException e) {
            return "QEMU (TCG)";
        }
    }

    private static void deleteTree(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // left for the system's tmp cleaning
                }
            });
        } catch (IOException e) {
            // already gone
        }
    }

    private static void progress(String format, Object... args) {
        System.err.printf(Locale.ROOT, format + "%n", args);
    }
}

package io.jvdpa.it.legacy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvdpa.it.blk.GuestDiskChecks;
import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.GuestVirtioDevice;
import io.jvdpa.testing.ManagedProcess;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.RepoRoot;
import io.jvdpa.testing.VhostUserBlk;
import io.jvdpa.testing.VhostUserNet;
import io.jvdpa.testing.VirtioMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The transitional device against every kind of real guest driver: x86 legacy-only, transitional with the driver
 * forced legacy, modern, packed, and s390x (big-endian) legacy and modern. One guest per row carries a jvdpa net
 * device and a jvdpa blk device; each is exercised with real traffic, and the guest's own view (VERSION_1,
 * RING_PACKED) is checked against the row. Then the profiles: guests outside them are refused with the reason and
 * the refusal counted. The results are written into docs/legacy.md: a cell whose check threw says "fail: " and
 * why, and a run of some rows only replaces those rows of the table there.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LegacyMatrixIT {
    private static final Duration SHORT = Duration.ofSeconds(60);
    private static final Duration LONG = Duration.ofMinutes(3);
    private static final int BULK_MIB = 8;
    private static final String BEGIN = "<!-- matrix:begin -->";
    private static final String END = "<!-- matrix:end -->";
    private static final String LEGACY_OFF_ROW = "x86 legacy-only guest, `--legacy off`";
    private static final String LE_ONLY_ROW = "s390x legacy guest, `--legacy le-only`";
    /** The s390x refusal row's blk cell: why there is none is what the s390x legacy row observes. */
    private static final String NO_S390X_LEGACY_BLK = "not expressible with QEMU 7.2 (see the s390x legacy row)";
    private static final int REASON_LENGTH = 240;
    /** This run's rows (label, net cell, blk cell) by label. */
    private static final Map<String, String[]> RESULTS = new ConcurrentHashMap<>();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    enum Row {
        X86_LEGACY_ONLY("x86, legacy-only device", GuestArch.X86_64, VirtioMode.LEGACY_ONLY, false),
        X86_FORCED_LEGACY("x86, transitional device, driver forced legacy", GuestArch.X86_64, VirtioMode.TRANSITIONAL, true),
        X86_MODERN("x86, modern-only device", GuestArch.X86_64, VirtioMode.MODERN_ONLY, false),
        X86_PACKED("x86, packed ring", GuestArch.X86_64, VirtioMode.PACKED, false),
        S390X_LEGACY("s390x (big-endian), legacy (ccw max_revision=0)", GuestArch.S390X, VirtioMode.LEGACY_ONLY, false),
        S390X_MODERN("s390x (big-endian), modern", GuestArch.S390X, VirtioMode.MODERN_ONLY, false);

        final String label;
        final GuestArch arch;
        final VirtioMode mode;
        final boolean forceLegacy;

        Row(String label, GuestArch arch, VirtioMode mode, boolean forceLegacy) {
            this.label = label;
            this.arch = arch;
            this.mode = mode;
            this.forceLegacy = forceLegacy;
        }

        boolean legacy() {
            return mode == VirtioMode.LEGACY_ONLY || forceLegacy;
        }

        /**
         * QEMU 7.2 has no vhost-user-blk on s390x's channel bus, and zPCI has no I/O BAR for a legacy device: the
         * row's disk is plugged in all the same, to see the guest give it up ({@link #legacyBlkUnreachable}).
         */
        boolean blkExpressible() {
            return !(arch == GuestArch.S390X && legacy());
        }

        int subnet() {
            return ordinal() + 1;
        }
    }

    /** One cell's check: what it passed, or it throws. */
    private interface Check {
        String run() throws Exception;
    }

    @Order(1)
    @ParameterizedTest
    @EnumSource(Row.class)
    void guestDriversOfEveryKindWork(Row row) throws Exception {
        String[] cells = {row.label, null, null};
        List<Throwable> failures = new ArrayList<>();
        // Named per run, so a namespace left by a run that was killed cannot collide with this one.
        String ns = "jvdpa-matrix-" + ProcessHandle.current().pid() + "-" + row.subnet();
        String tap = "jvmtap" + row.subnet();
        Path netSock = dir.resolve("net.sock");
        Path blkSock = dir.resolve("blk.sock");
        Path image = dir.resolve("disk.img");
        try {
            run("ip", "netns", "add", ns);
            try (ManagedProcess net = jvdpa("net-" + row, "net", "--socket-path", netSock.toString(), "--network",
                    "tap:" + tap);
                 ManagedProcess blk = jvdpa("blk-" + row, "blk", "--socket-path", blkSock.toString(), "--image",
                         image.toString(), "--size", "64M")) {
                net.awaitPath(netSock, SHORT);
                blk.awaitPath(blkSock, SHORT);
                // The host end of the TAP lives in a namespace of the test's own.
                run("ip", "link", "set", tap, "netns", ns);
                run("ip", "netns", "exec", ns, "ip", "addr", "add", hostIp(row) + "/24", "dev", tap);
                run("ip", "netns", "exec", ns, "ip", "link", "set", tap, "up");
                // Two vCPUs: with one, QEMU's TCG drops the guest's memory barriers and an EVENT_IDX notification
                // to a back-end in another process can be lost for good (seen as s390x receive stalls).
                QemuGuest.Builder b = QemuGuest.builder(row.arch).name("matrix-" + row).cpus(2)
                        .net(VhostUserNet.of(netSock, row.mode).withMac("52:54:00:aa:00:0" + row.subnet()))
                        .forceLegacy(row.forceLegacy).blk(VhostUserBlk.of(blkSock, row.mode));
                try (QemuGuest guest = b.start()) {
                    String driver = checkDrivers(guest, row);
                    cells[1] = cell(failures, () -> "pass (" + driver + "): " + netTraffic(guest, row, ns));
                    cells[2] = row.blkExpressible()
                            ? cell(failures, () -> "pass (" + driver + "): " + blkTraffic(guest, image, blk))
                            : cell(failures, () -> legacyBlkUnreachable(guest, blk));
                }
            }
        } catch (Exception | AssertionError e) {
            failures.add(e);
        } finally {
            runQuietly("ip", "netns", "del", ns);
        }
        record(cells, failures);
    }

    /** Runs one cell's check; a failure becomes the cell's text and is kept to fail the test with. */
    private static String cell(List<Throwable> failures, Check check) {
        try {
            return check.run();
        } catch (Exception | AssertionError e) {
            failures.add(e);
            return fail(e);
        }
    }

    /**
     * Puts a row into the table, each cell not reached marked with the first failure, and fails the test with the
     * first failure (the others suppressed) if there was one.
     */
    private static void record(String[] cells, List<Throwable> failures) throws Exception {
        for (int i = 1; i < cells.length; i++) {
            if (cells[i] == null) {
                cells[i] = failures.isEmpty() ? "fail: not run" : fail(failures.getFirst());
            }
        }
        RESULTS.put(cells[0], cells);
        if (failures.isEmpty()) {
            return;
        }
        Throwable first = failures.getFirst();
        failures.stream().skip(1).forEach(first::addSuppressed);
        if (first instanceof Exception e) {
            throw e;
        }
        throw (AssertionError) first;
    }

    /** "fail: " and the failure's message on one line, short enough for a table cell. */
    static String fail(Throwable t) {
        String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        String line = message.replaceAll("\\s+", " ").trim().replace("|", "\\|");
        return "fail: " + (line.length() > REASON_LENGTH ? line.substring(0, REASON_LENGTH) + "..." : line);
    }

    /** The guest's own sysfs says which driver kind it runs; it must match the row. */
    private static String checkDrivers(QemuGuest guest, Row row) {
        List<GuestVirtioDevice> devices = guest.virtioDevices();
        assertThat(devices).as("virtio devices in the guest").isNotEmpty();
        for (GuestVirtioDevice d : devices) {
            assertThat(d.driverOk()).as("%s", d).isTrue();
            assertThat(d.modern()).as("VERSION_1 on %s", d).isEqualTo(!row.legacy());
            assertThat(d.hasFeature(GuestVirtioDevice.RING_PACKED)).isEqualTo(row.mode == VirtioMode.PACKED);
        }
        String kind = row.legacy() ? "legacy" : row.mode == VirtioMode.PACKED ? "modern, packed" : "modern";
        return kind + ", " + (row.arch == GuestArch.S390X ? "big-endian guest" : "little-endian guest");
    }

    private static String hostIp(Row row) {
        return "10.78." + row.subnet() + ".1";
    }

    private static String guestIp(Row row) {
        return "10.78." + row.subnet() + ".15";
    }

    /** Pings, then {@link #BULK_MIB} MiB over TCP each way, hashed at both ends. */
    private String netTraffic(QemuGuest guest, Row row, String ns) throws Exception {
        guest.execOk("ip link set eth0 up && ip addr add " + guestIp(row) + "/24 dev eth0", SHORT);
        String ping = guest.execOk("ping -c 100 -i 0.01 -W 5 " + hostIp(row), LONG);
        assertThat(ping).contains("100 packets transmitted, 100 packets received");

        // Guest to host.
        guest.execOk("dd if=/dev/urandom of=/tmp/up bs=1M count=" + BULK_MIB + " 2>/dev/null", LONG);
        String upSum = guest.execOk("sha256sum /tmp/up", SHORT).split("\\s+")[0];
        Path upFile = dir.resolve("up");
        Process listener = new ProcessBuilder("ip", "netns", "exec", ns, "busybox", "nc", "-l", "-p", "5001")
                .redirectOutput(upFile.toFile()).redirectErrorStream(false).start();
        try {
            guest.execOk("for i in 1 2 3 4 5 6 7 8 9 10; do nc " + hostIp(row) + " 5001 < /tmp/up && break; sleep 0.3; done",
                    LONG);
            assertThat(listener.waitFor(60, TimeUnit.SECONDS)).as("host listener finished").isTrue();
        } finally {
            listener.destroyForcibly();
        }
        assertThat(sha256(Files.readAllBytes(upFile))).as("guest to host").isEqualTo(upSum);

        // Host to guest.
        byte[] down = new byte[BULK_MIB << 20];
        new java.util.Random(row.subnet()).nextBytes(down);
        Path downFile = dir.resolve("down");
        Files.write(downFile, down);
        // The listener's stdin stays open: at EOF busybox nc half-closes, and the sender would stop early.
        guest.execOk("(sleep 600 | nc -l -p 5002 > /tmp/down &) ; sleep 0.3", SHORT);
        run("ip", "netns", "exec", ns, "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do busybox nc " + guestIp(row)
                + " 5002 < " + downFile + " && break; sleep 0.3; done");
        String downSum = guest.execOk("while pidof nc > /dev/null; do sleep 0.1; done; sha256sum /tmp/down", LONG)
                .split("\\s+")[0];
        assertThat(downSum).as("host to guest (%s bytes arrived)", guest.execOk("wc -c < /tmp/down", SHORT))
                .isEqualTo(sha256(down));
        return "100/100 pings; " + BULK_MIB + " MiB over TCP each way, SHA-256 equal at both ends";
    }

    /** The checks every real-guest blk test runs ({@link GuestDiskChecks}); jvdpa logs no failed request. */
    private static String blkTraffic(QemuGuest guest, Path image, ManagedProcess blk) throws Exception {
        GuestDiskChecks.randomDataSurvives(guest, "/dev/vda", image);
        GuestDiskChecks.fioVerifies(guest, "/dev/vda");
        GuestDiskChecks.fileSystemChecksClean(guest, "/dev/vda");
        assertThat(blk.stderr().text()).as("jvdpa blk's log").doesNotContain("S_IOERR").doesNotContain("S_UNSUPP")
                .doesNotContain("is broken");
        return GuestDiskChecks.SUMMARY;
    }

    /**
     * Why no big-endian legacy blk driver reaches a vhost-user back-end with QEMU 7.2, as this run sees it: s390x's
     * QEMU has vhost-user-blk only as a PCI device (no ccw proxy, where legacy is revision 0), and the guest kernel
     * gives a legacy PCI disk up, since s390x has no port I/O for the legacy interface's I/O BAR. The disk never
     * reaches jvdpa: no driver ever negotiated.
     */
    private static String legacyBlkUnreachable(QemuGuest guest, ManagedProcess blk) throws Exception {
        String devices = run(GuestArch.S390X.qemuBinary(), "-device", "help");
        assertThat(devices).as("QEMU's s390x devices").contains("name \"vhost-user-blk-pci\"")
                .doesNotContain("vhost-user-blk-ccw");
        String dmesg = guest.execOk("dmesg", SHORT);
        assertThat(dmesg).as("the guest's kernel log").contains("virtio_pci: leaving for legacy driver")
                .containsPattern("probe of \\S+ failed with error -5");
        assertThat(guest.execOk("ls /sys/block", SHORT)).as("block devices in the guest").doesNotContain("vda");
        assertThat(blk.stderr().text()).as("jvdpa blk's log: no queue of the disk ever started").doesNotContain("queue 0 started");
        return "not expressible with QEMU 7.2, as this run saw: qemu-system-s390x has vhost-user-blk-pci but no "
                + "vhost-user-blk-ccw, and the guest's virtio_pci gives up the legacy PCI disk (\"leaving for legacy "
                + "driver\", then probe failed with error -5: s390x has no port I/O for its I/O BAR); legacy "
                + "big-endian blk is covered by jvdpa's own front-end";
    }

    @Order(2)
    @Test
    void legacyDriverIsRefusedByLegacyOff() throws Exception {
        refusals(LEGACY_OFF_ROW, GuestArch.X86_64, "off", "legacy driver refused: profile --legacy off", true);
    }

    @Order(3)
    @Test
    void bigEndianLegacyDriverIsRefusedByLeOnly() throws Exception {
        refusals(LE_ONLY_ROW, GuestArch.S390X, "le-only", "legacy big-endian driver refused: profile --legacy le-only",
                false);
    }

    /**
     * A legacy guest against devices of a daemon whose profile is {@code policy}: a net device, and a blk device
     * when the guest can have one. Each refuses the driver, names the reason in the log and counts the refusal
     * ({@code jvdpa dev show}); QEMU reports the disk's failed vhost start; the guest keeps running. The disk is
     * plugged in once the guest runs: present at boot, the x86 firmware (SeaBIOS) would drive it with a legacy
     * driver of its own, and wait on it for good once it is refused.
     */
    private void refusals(String label, GuestArch arch, String policy, String message, boolean withBlk)
            throws Exception {
        String[] cells = {label, null, withBlk ? null : NO_S390X_LEGACY_BLK};
        List<Throwable> failures = new ArrayList<>();
        Path control = dir.resolve("control.sock");
        Path netSock = dir.resolve("refused-net.sock");
        Path blkSock = dir.resolve("refused-blk.sock");
        Path config = dir.resolve("refuse.yaml");
        String devices = """
                control-socket: %s
                devices:
                  - name: net
                    type: net
                    socket-path: %s
                    legacy: "%s"
                """.formatted(control, netSock, policy);
        if (withBlk) {
            devices += """
                      - name: blk
                        type: blk
                        socket-path: %s
                        image: %s
                        size: 64M
                        legacy: "%s"
                    """.formatted(blkSock, dir.resolve("refused.img"), policy);
        }
        try {
            Files.writeString(config, devices);
            try (ManagedProcess daemon = jvdpa("daemon-refuse-" + policy, "daemon", "--config", config.toString());
                 QemuGuest guest = startWhenReady(daemon, withBlk ? 2 : 1, QemuGuest.builder(arch)
                         .name("refused-" + policy).monitor(dir.resolve("refused-qmp.sock"))
                         .net(VhostUserNet.of(netSock, VirtioMode.LEGACY_ONLY)).failOnVhostError(false))) {
                cells[1] = cell(failures, () -> refused(daemon, control, "net", message, guest));
                if (withBlk) {
                    cells[2] = cell(failures, () -> {
                        guest.hotplug(VhostUserBlk.of(blkSock, VirtioMode.LEGACY_ONLY));
                        String result = refused(daemon, control, "blk", message, guest);
                        assertThat(guest.qemuErrors()).as("QEMU's stderr:\n%s", guest.qemuStderr())
                                .anyMatch(l -> l.contains("vhost-user-blk: vhost start failed"));
                        return result + "; QEMU reports the disk's failed vhost start";
                    });
                }
            }
        } catch (Exception | AssertionError e) {
            failures.add(e);
        }
        record(cells, failures);
    }

    private static QemuGuest startWhenReady(ManagedProcess daemon, int devices, QemuGuest.Builder guest) {
        daemon.awaitOutput(Pattern.compile("jvdpa daemon: " + devices + " devices"), SHORT, true);
        return guest.start();
    }

    /** The device named {@code name} refused the guest's driver for {@code message}, and counted it. */
    private static String refused(ManagedProcess daemon, Path control, String name, String message, QemuGuest guest)
            throws Exception {
        daemon.awaitOutput(Pattern.compile(Pattern.quote(name + ": " + message)), SHORT, true);
        JsonNode show = devShow(control, name);
        assertThat(show.get("refusals").asLong()).as("refusals of %s: %s", name, show).isPositive();
        assertThat(show.get("lastRefusal").asText()).as("last refusal of %s", name).contains(message);
        assertThat(guest.exec("echo alive", SHORT).output()).contains("alive");
        return "refused: \"" + message + "\", counted (`jvdpa dev show`: refusals " + show.get("refusals").asLong()
                + "); the guest keeps running";
    }

    /** {@code jvdpa dev show NAME --json} against the daemon's control socket. */
    private static JsonNode devShow(Path control, String name) throws Exception {
        try (ManagedProcess show = jvdpa("dev-show-" + name, "dev", "show", name, "--control-socket",
                control.toString(), "--json")) {
            int status = show.waitFor(SHORT);
            assertThat(status).as("jvdpa dev show %s: %s", name, show.describe()).isZero();
            return JSON.readTree(show.stdout().text());
        }
    }

    /**
     * Writes the table into docs/legacy.md: every row of this run, and for a row this run left out, the row the
     * table had. "Last run" moves on only when every row ran.
     */
    @AfterAll
    static void writeMatrix() throws IOException {
        if (RESULTS.isEmpty()) {
            return;
        }
        Path doc = RepoRoot.find().resolve("docs/legacy.md");
        String text = Files.readString(doc);
        int begin = text.indexOf(BEGIN);
        int end = text.indexOf(END);
        if (begin < 0 || end < begin) {
            return;
        }
        String old = text.substring(begin + BEGIN.length(), end);
        Files.writeString(doc, text.substring(0, begin) + BEGIN + "\n" + table(old) + text.substring(end));
    }

    /** The table between the markers, from this run's rows and {@code old}'s. */
    static String table(String old) {
        Map<String, String> oldRows = new HashMap<>();
        String lastRun = null;
        for (String line : old.lines().toList()) {
            if (line.startsWith("| ") && line.indexOf(" | ") > 0) {
                oldRows.put(line.substring(2, line.indexOf(" | ")), line);
            } else if (line.startsWith("Last run: ")) {
                lastRun = line;
            }
        }
        List<String> labels = new ArrayList<>();
        for (Row r : Row.values()) {
            labels.add(r.label);
        }
        labels.add(LEGACY_OFF_ROW);
        labels.add(LE_ONLY_ROW);
        StringBuilder table = new StringBuilder("| guest and device | net | blk |\n|---|---|---|\n");
        for (String label : labels) {
            String[] r = RESULTS.get(label);
            String line = r != null ? "| " + r[0] + " | " + r[1] + " | " + r[2] + " |" : oldRows.get(label);
            if (line != null) {
                table.append(line).append('\n');
            }
        }
        if (RESULTS.keySet().containsAll(labels) || lastRun == null) {
            lastRun = "Last run: " + java.time.LocalDate.now() + ", QEMU 7.2 (TCG), Debian 12 guest kernels.";
        }
        return table.append('\n').append(lastRun).append('\n').toString();
    }

    private static ManagedProcess jvdpa(String name, String... args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                "io.jvdpa.cli.Main"));
        command.addAll(List.of(args));
        return ManagedProcess.builder(name).command(command).maxLifetime(Duration.ofMinutes(10)).start();
    }

    private static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s: %s", List.of(command), out).isZero();
        return out;
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
}

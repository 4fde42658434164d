package io.jvdpa.it.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvdpa.testing.FileDigest;
import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.HarnessException;
import io.jvdpa.testing.ManagedProcess;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.QmpClient;
import io.jvdpa.testing.VhostUserBlk;
import io.jvdpa.testing.VhostUserNet;
import io.jvdpa.testing.VirtioMode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real guest live-migrated between two QEMU processes, each with its own pair of jvdpa devices: a net device on
 * the gateway network (packed ring) and a blk device (split ring) on one image file both blk devices share, as
 * migration with shared storage has it. A ping and a disk writer run throughout; afterwards, on the destination,
 * the guest must find its network, its disk and its memory as they were.
 *
 * <p>What makes this a test of the back-ends' dirty logging rather than of QEMU:
 * <ul>
 *   <li>While QEMU copies RAM (capped at 64 MiB/s, so the copy takes seconds), the guest reads 16 MiB from the
 *       disk into its page cache. Those pages are written by the jvdpa blk process alone, never by a guest CPU (the
 *       guest kernel runs with {@code init_on_alloc=0}, so it does not zero them first); wherever QEMU had already
 *       copied them, it learns they changed only from the vhost dirty log. On the destination the same range is
 *       hashed from the page cache, without one sector read from the disk, and must match the image file.</li>
 *   <li>The destination is held paused at the switch ({@code -S}) and its RAM compared with the source's, page for
 *       page: any page a device wrote (buffers, used rings, event suppression areas) without logging it after
 *       QEMU had copied it would differ.</li>
 *   <li>Each ring of the destination's devices must start where the source's stopped, and carry traffic.</li>
 * </ul>
 *
 * <p>The copy is a single capped pass rather than one held open in its iterative phase: QEMU 7.2's TCG loses guest
 * writes when a migration is kept iterating under a low bandwidth limit (seen without any vhost-user device, as
 * differing pages and guest kernel oopses), and typing on the source's console while RAM is copied under load has
 * made its shell read end-of-file. So nothing is typed on the source from the migration's start to the switch: the
 * disk read starts itself after a delay.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class LiveMigrationIT {
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final Duration LONG = Duration.ofSeconds(90);
    private static final long MIB = 1 << 20;
    private static final long DISK_SIZE = 64 * MIB;
    /** Written by the guest before the migration starts. */
    private static final long BEFORE_AT = 8 * MIB;
    /** Rewritten by the guest, alternately with two patterns, throughout the migration. */
    private static final long WRITER_AT = 16 * MIB;
    /** Written by the guest on the destination. */
    private static final long AFTER_AT = 24 * MIB;
    /** Written by the host before boot; read by the guest (device writes into its RAM) during the migration. */
    private static final long READ_AT = 32 * MIB;
    private static final long READ_LENGTH = 16 * MIB;
    /** About 200 MiB of the guest's 512 are not zero: a pass over them takes three to four seconds. */
    private static final long BANDWIDTH = 64 * MIB;
    /** When the disk read starts, counted from the migrate command: half way through the pass. */
    private static final double READ_DELAY_SECONDS = 1.5;
    private static final long RAM_BYTES = 512 * MIB;
    /** Pages allowed to differ at the switch for reasons of TCG's own (see theDestinationsRamIsTheSources). */
    private static final int STRAY_PAGES = 4;
    private static final int PINGS = 25;
    private static final Pattern STOPPED = Pattern.compile("queue (\\d+) stopped at .*, base (\\d+)");
    private static final Pattern STARTED = Pattern.compile("queue (\\d+) started: .*, base (\\d+)");
    private static final Pattern PING_SUMMARY = Pattern.compile("(\\d+) packets transmitted, (\\d+) packets received");
    private static final Pattern BLK_READ = Pattern.compile("jvdpa blk: reads \\d+ \\((\\d+) bytes\\)");

    @TempDir
    Path dir;

    @Test
    void aGuestMigratedBetweenTwoQemusKeepsItsNetworkItsDiskAndWhatTheDevicesWroteDuringTheCopy() throws Exception {
        Path image = dir.resolve("disk.img");
        String readSum = writeImage(image);
        Path migration = dir.resolve("mig.sock");
        try (ManagedProcess netSrc = jvdpa("migration-net-src", "net", "--socket-path", dir.resolve("net-src.sock").toString());
             ManagedProcess blkSrc = jvdpa("migration-blk-src", "blk", "--socket-path", dir.resolve("blk-src.sock").toString(),
                     "--image", image.toString());
             ManagedProcess netDst = jvdpa("migration-net-dst", "net", "--socket-path", dir.resolve("net-dst.sock").toString());
             ManagedProcess blkDst = jvdpa("migration-blk-dst", "blk", "--socket-path", dir.resolve("blk-dst.sock").toString(),
                     "--image", image.toString())) {
            for (String side : List.of("src", "dst")) {
                (side.equals("src") ? netSrc : netDst).awaitPath(dir.resolve("net-" + side + ".sock"), SHORT);
                (side.equals("src") ? blkSrc : blkDst).awaitPath(dir.resolve("blk-" + side + ".sock"), SHORT);
            }
            // -S: the destination stays paused after the switch until its RAM has been compared with the source's.
            try (QemuGuest destination = guest("dst").incoming("unix:" + migration).qemuArgs("-S").build().start();
                 QemuGuest source = guest("src").build().start()) {
                long writesBefore = prepareAndStartTheLoad(source, image);

                migrate(source, destination, migration);
                theDestinationsRamIsTheSources(source, destination);
                destination.qmp().execute("cont");
                assertThat(source.qemuErrors()).as("source QEMU's stderr:\n%s", source.qemuStderr()).isEmpty();
                source.close();
                assertThat(stop(blkSrc)).as("bytes the source's disk read (the range read during the copy included)")
                        .isGreaterThanOrEqualTo(READ_LENGTH);

                assertThat(destination.execOk("echo migrated", SHORT)).isEqualTo("migrated");
                long writesAtSwitch = Long.parseLong(destination.execOk("cat /tmp/writes", SHORT));
                assertThat(writesAtSwitch).as("disk writes while RAM was copied").isGreaterThan(writesBefore);

                theDevicesWritesDuringTheCopyReachedTheDestination(destination, readSum);
                theDiskKeepsWhatWasWrittenBeforeDuringAndAfter(destination, image, writesAtSwitch);
                theNetworkCarriesOn(destination);
                assertThat(destination.qemuErrors()).as("destination QEMU's stderr:\n%s", destination.qemuStderr())
                        .isEmpty();
            }
            for (ManagedProcess p : List.of(netSrc, blkSrc, netDst, blkDst)) {
                assertThat(p.stderr().text()).as("%s's log", p.name()).doesNotContain("is broken")
                        .doesNotContain("refused").doesNotContain(" ERROR ");
            }
            for (ManagedProcess src : List.of(netSrc, blkSrc)) {
                assertThat(src.stderr().text()).as("%s's log", src.name()).contains(": dirty logging on:");
            }
            theDestinationStartedWhereTheSourceStopped(netSrc, netDst);
            theDestinationStartedWhereTheSourceStopped(blkSrc, blkDst);
        }
    }

    /**
     * Both QEMUs have the same devices in the same order (so the same MAC addresses and PCI slots), each pair on its
     * own jvdpa processes. Two vCPUs: with one, QEMU's TCG drops the guest's barriers and a notification to a
     * back-end in another process can be lost.
     */
    private QemuGuest.Builder guest(String side) {
        return QemuGuest.builder(GuestArch.X86_64).name("migration-" + side).cpus(2)
                // Page-cache pages are then written by the disk device only, not zeroed by the CPU first.
                .kernelArgs("init_on_alloc=0")
                .net(VhostUserNet.of(dir.resolve("net-" + side + ".sock"), VirtioMode.PACKED))
                .blk(VhostUserBlk.of(dir.resolve("blk-" + side + ".sock"), VirtioMode.MODERN_ONLY))
                .monitor(dir.resolve("qmp-" + side + ".sock"));
    }

    /**
     * Sets up the guest's network and writes the "before" data, then starts the load that runs during the
     * migration: a ping to the gateway, a disk writer alternating two patterns, and the delayed disk read. Returns
     * how many writes the writer had done when the migration was about to start.
     */
    private static long prepareAndStartTheLoad(QemuGuest source, Path image) throws Exception {
        source.execOk("ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0", SHORT);
        assertThat(source.execOk("ping -c 3 -i 0.2 -W 5 10.0.2.2", SHORT))
                .contains("3 packets transmitted, 3 packets received");

        source.execOk("dd if=/dev/urandom of=/tmp/before bs=1M count=4 2>/dev/null"
                + " && dd if=/tmp/before of=/dev/vda bs=1M seek=" + BEFORE_AT / MIB + " oflag=direct 2>/dev/null && sync",
                LONG);
        String before = sha(source, "/tmp/before");
        assertThat(FileDigest.sha256(image, BEFORE_AT, 4 * MIB)).as("data written before the migration, in the image").isEqualTo(before);

        source.execOk("for f in p0 p1; do dd if=/dev/urandom of=/tmp/$f bs=1M count=2 2>/dev/null; done", LONG);
        // Under QEMU 7.2's TCG the source's shell has read a stray end-of-file while RAM was copied: it goes on
        // past one, and the load runs immune to the hangup its exit would send.
        source.execOk("set -o ignoreeof", SHORT);
        // Linux drops a block device's page cache when its last opener closes it: this one stays open throughout.
        source.execOk(detached("exec sleep 100000 < /dev/vda"), SHORT);
        // Nothing of the range read during the migration may be cached before it: the device must write it then.
        source.execOk("sync && echo 3 > /proc/sys/vm/drop_caches", SHORT);
        source.execOk("(trap '' HUP; exec ping -i 0.1 10.0.2.2 > /tmp/ping.log 2>&1) & echo $! > /tmp/ping.pid", SHORT);
        source.execOk(detached("i=0; while [ ! -e /tmp/stop-writer ]; do"
                + " dd if=/tmp/p$((i % 2)) of=/dev/vda bs=1M seek=" + WRITER_AT / MIB + " oflag=direct 2>/dev/null"
                + " || { echo failed > /tmp/writer-failed; break; };"
                + " i=$((i + 1)); echo $i > /tmp/writes; done; touch /tmp/writer-done"), SHORT);
        long writes = Long.parseLong(source.execOk("while [ ! -s /tmp/writes ]; do sleep 0.1; done; cat /tmp/writes", SHORT));
        // Buffered: the blk device writes the data into new page-cache pages, while QEMU copies RAM.
        source.execOk(detached("sleep " + READ_DELAY_SECONDS + "; dd if=/dev/vda of=/dev/null bs=1M skip=" + READ_AT / MIB
                + " count=" + READ_LENGTH / MIB + " 2>/dev/null; touch /tmp/read-done"), SHORT);
        return writes;
    }

    /** One capped pass over RAM while the load runs, then the switch; the destination stays paused (-S). */
    private static void migrate(QemuGuest source, QemuGuest destination, Path migration) {
        QmpClient src = source.qmp();
        QmpClient dst = destination.qmp();
        assertThat(dst.execute("query-status").path("status").asText()).isEqualTo("inmigrate");
        src.execute("migrate-set-parameters", Map.of("max-bandwidth", BANDWIDTH));
        long begin = System.nanoTime();
        src.execute("migrate", Map.of("uri", "unix:" + migration));
        JsonNode done = awaitMigration(src, m -> m.path("status").asText().equals("completed"), LONG);
        assertThat(src.execute("query-status").path("status").asText()).isEqualTo("postmigrate");
        long deadline = System.nanoTime() + SHORT.toNanos();
        while (!dst.execute("query-status").path("status").asText().equals("paused")) {
            assertThat(System.nanoTime()).as("destination holding the migrated guest").isLessThan(deadline);
            sleep(50);
        }
        System.out.printf("migration: %d ms in all, %d ms of downtime, %d dirty-log passes, %d MiB sent%n",
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - begin), done.path("downtime").asLong(),
                done.path("ram").path("dirty-sync-count").asLong(), done.path("ram").path("transferred").asLong() >> 20);
    }

    /**
     * Both QEMUs stopped at the switch: the source in postmigrate, the destination paused before its first
     * instruction. Their guest RAM must be identical but for a few stray pages.
     */
    private void theDestinationsRamIsTheSources(QemuGuest source, QemuGuest destination) throws IOException {
        Path src = dir.resolve("source.ram");
        Path dst = dir.resolve("destination.ram");
        source.qmp().execute("pmemsave", Map.of("val", 0, "size", RAM_BYTES, "filename", src.toString()), LONG);
        destination.qmp().execute("pmemsave", Map.of("val", 0, "size", RAM_BYTES, "filename", dst.toString()), LONG);
        List<String> differing = new ArrayList<>();
        try (FileChannel a = FileChannel.open(src); FileChannel b = FileChannel.open(dst)) {
            assertThat(a.size()).isEqualTo(RAM_BYTES);
            assertThat(b.size()).isEqualTo(RAM_BYTES);
            ByteBuffer pa = ByteBuffer.allocateDirect((int) MIB);
            ByteBuffer pb = ByteBuffer.allocateDirect((int) MIB);
            for (long at = 0; at < RAM_BYTES; at += MIB) {
                pa.clear();
                pb.clear();
                a.read(pa, at);
                b.read(pb, at);
                for (int page = 0; page < MIB; page += 4096) {
                    if (!pa.slice(page, 4096).equals(pb.slice(page, 4096))) {
                        differing.add("0x" + Long.toHexString(at + page));
                    }
                }
            }
        } finally {
            Files.deleteIfExists(src);
            Files.deleteIfExists(dst);
        }
        // Dirty logging that misses the device's writes leaves hundreds of pages behind (532 with marking turned
        // off). QEMU 7.2's TCG migration alone, with no vhost-user device, was seen to leave a few pages differing;
        // one page in a few runs is seen here and not yet told apart from an unlogged device write: the bound
        // admits that much and no more, and the pages are printed.
        if (!differing.isEmpty()) {
            System.out.println("migration: pages that differ at the switch: " + differing);
        }
        assertThat(differing).as("guest-physical pages that differ between source and destination at the switch")
                .hasSizeLessThanOrEqualTo(STRAY_PAGES);
    }

    /** Polls query-migrate until {@code until} holds; a failed or cancelled migration ends the wait. */
    private static JsonNode awaitMigration(QmpClient qmp, java.util.function.Predicate<JsonNode> until, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode m = qmp.execute("query-migrate");
            String status = m.path("status").asText();
            if (until.test(m)) {
                return m;
            }
            if (status.equals("failed") || status.equals("cancelled") || status.equals("completed")) {
                throw new AssertionError("migration " + status + " early: " + m);
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("migration did not get there within " + timeout + ": " + m);
            }
            sleep(20);
        }
    }

    /**
     * The range the guest read during the migration is hashed again from the destination's page cache: no sector
     * may be read from the disk for it, and the hash must be the image file's.
     */
    private static void theDevicesWritesDuringTheCopyReachedTheDestination(QemuGuest destination, String readSum) {
        destination.execOk("while [ ! -e /tmp/read-done ]; do sleep 0.1; done", SHORT);
        String sectorsRead = "awk '$3 == \"vda\" {print $6}' /proc/diskstats";
        long sectorsBefore = Long.parseLong(destination.execOk(sectorsRead, SHORT));
        String cached = destination.execOk("dd if=/dev/vda bs=1M skip=" + READ_AT / MIB + " count=" + READ_LENGTH / MIB
                + " 2>/dev/null | sha256sum | cut -d' ' -f1", LONG);
        assertThat(Long.parseLong(destination.execOk(sectorsRead, SHORT)))
                .as("sectors read from the disk while hashing: the range must come from the migrated page cache")
                .isEqualTo(sectorsBefore);
        assertThat(cached).as("the page cache the disk device filled during the migration, on the destination")
                .isEqualTo(readSum);
    }

    private static void theDiskKeepsWhatWasWrittenBeforeDuringAndAfter(QemuGuest destination, Path image,
                                                                       long writesAtSwitch) throws Exception {
        long writes = Long.parseLong(destination.execOk("touch /tmp/stop-writer;"
                + " while [ ! -e /tmp/writer-done ]; do sleep 0.1; done; cat /tmp/writes", LONG));
        assertThat(destination.exec("test -e /tmp/writer-failed", SHORT).exitCode()).as("a write failed").isNotZero();
        assertThat(writes).as("disk writes after the switch").isGreaterThan(writesAtSwitch);
        String last = sha(destination, "/tmp/p" + (writes - 1) % 2);
        assertThat(readDirect(destination, WRITER_AT, 2)).as("the writer's last pattern, read back").isEqualTo(last);
        assertThat(FileDigest.sha256(image, WRITER_AT, 2 * MIB)).as("the writer's last pattern, in the image").isEqualTo(last);

        String before = sha(destination, "/tmp/before");
        assertThat(readDirect(destination, BEFORE_AT, 4)).as("data written before the migration").isEqualTo(before);

        destination.execOk("dd if=/dev/urandom of=/tmp/after bs=1M count=4 2>/dev/null"
                + " && dd if=/tmp/after of=/dev/vda bs=1M seek=" + AFTER_AT / MIB + " oflag=direct 2>/dev/null && sync",
                LONG);
        String after = sha(destination, "/tmp/after");
        assertThat(readDirect(destination, AFTER_AT, 4)).as("data written after the migration").isEqualTo(after);
        assertThat(FileDigest.sha256(image, AFTER_AT, 4 * MIB)).as("data written after the migration, in the image").isEqualTo(after);
    }

    private static void theNetworkCarriesOn(QemuGuest destination) {
        String during = destination.execOk("kill -INT $(cat /tmp/ping.pid); sleep 0.5; cat /tmp/ping.log", SHORT);
        Matcher m = PING_SUMMARY.matcher(during);
        assertThat(m.find()).as("the ping that ran through the migration:\n%s", during).isTrue();
        long sent = Long.parseLong(m.group(1));
        long received = Long.parseLong(m.group(2));
        // A few may be lost while neither QEMU runs the guest.
        assertThat(received).as("replies to %d pings sent across the migration", sent).isGreaterThanOrEqualTo(sent * 9 / 10);
        assertThat(destination.execOk("ping -c " + PINGS + " -i 0.1 -W 5 10.0.2.2", LONG))
                .contains(PINGS + " packets transmitted, " + PINGS + " packets received, 0% packet loss");
    }

    /** Each queue the destination's device started resumes where the source's was stopped for the switch. */
    private static void theDestinationStartedWhereTheSourceStopped(ManagedProcess source, ManagedProcess destination) {
        Map<Integer, Long> stopped = new LinkedHashMap<>();
        Matcher s = STOPPED.matcher(source.stderr().text());
        while (s.find()) {
            stopped.put(Integer.parseInt(s.group(1)), Long.parseLong(s.group(2)));
        }
        Map<Integer, Long> started = new LinkedHashMap<>();
        Matcher d = STARTED.matcher(destination.stderr().text());
        while (d.find()) {
            started.putIfAbsent(Integer.parseInt(d.group(1)), Long.parseLong(d.group(2)));
        }
        assertThat(started).as("%s started where %s stopped", destination.name(), source.name())
                .isNotEmpty().isEqualTo(stopped);
        assertThat(started.values()).as("rings that had moved on from their first entry").anyMatch(b -> (b & 0x7fff) != 0);
    }

    /** {@code script} in the background, deaf to the hangup a shell's exit sends its process group. */
    private static String detached(String script) {
        return "(trap '' HUP; " + script + ") > /dev/null 2>&1 &";
    }

    /** Stops a jvdpa blk process (SIGTERM) and returns the bytes it read, from the summary it prints. */
    private static long stop(ManagedProcess blk) {
        blk.signal("TERM");
        blk.waitFor(SHORT);
        Matcher m = BLK_READ.matcher(blk.stdout().text());
        assertThat(m.find()).as("%s's summary: %s", blk.name(), blk.stdout().text()).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static String readDirect(QemuGuest guest, long at, int mib) {
        return guest.execOk("dd if=/dev/vda bs=1M skip=" + at / MIB + " count=" + mib + " iflag=direct 2>/dev/null"
                + " | sha256sum | cut -d' ' -f1", LONG);
    }

    private static String sha(QemuGuest guest, String file) {
        return guest.execOk("sha256sum " + file + " | cut -d' ' -f1", SHORT);
    }

    /** A sparse image with random data where the guest will read during the migration; returns that data's hash. */
    private static String writeImage(Path image) throws IOException, NoSuchAlgorithmException {
        byte[] data = new byte[(int) READ_LENGTH];
        new Random(42).nextBytes(data);
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(DISK_SIZE);
            f.seek(READ_AT);
            f.write(data);
        }
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }


    /** The jvdpa command from this build's class path, as {@code ./jvdpa} runs it. */
    private static ManagedProcess jvdpa(String name, String... args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseZGC", "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "io.jvdpa.cli.Main"));
        command.addAll(List.of(args));
        return ManagedProcess.builder(name).command(command).maxLifetime(Duration.ofMinutes(10)).start();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HarnessException("interrupted", e);
        }
    }
}

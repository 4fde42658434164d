package io.jvdpa.bench.sidebyside;

import io.jvdpa.memory.Endianness;
import io.jvdpa.testing.ManagedProcess;
import io.jvdpa.testing.RepoRoot;
import io.jvdpa.testing.StorageDaemon;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.virtqueue.UsedBuffer;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The blk side-by-side: jvdpa's own front-end drives qemu-storage-daemon's vhost-user-blk export and jvdpa blk,
 * each over the same tmpfs image, with 4 KiB random reads and writes at queue depth 1, 32 and 128. Prints a
 * Markdown table of IOPS, p50 and p99 latency, and the ratio jvdpa / qemu-storage-daemon.
 *
 * <p>A second table drives jvdpa blk as each kind of driver does: modern split, modern packed, legacy
 * little-endian and legacy big-endian (rings and request headers in big-endian order, as an s390x guest's are).
 * Here the back-end, not a guest, is what is measured; each round runs every kind once (the first kind moving on
 * by one each round), and a kind's ratio is taken against the modern run of the same round.
 *
 * <p>Run with {@code scripts/bench-blk [seconds] [rounds]}.
 */
public final class BlkSideBySide {
    private static final long VERSION_1 = 1L << 32;
    private static final long RING_PACKED = 1L << 34;
    private static final long PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.MQ, ProtocolFeature.REPLY_ACK,
            ProtocolFeature.CONFIG, ProtocolFeature.CROSS_ENDIAN);
    private static final int IN = 0;
    private static final int OUT = 1;
    private static final int BLOCK = 4096;
    private static final long IMAGE_SIZE = 256L << 20;
    private static final int QUEUE_SIZE = 512; // depth 128 x 3 descriptors per request

    record Result(double iops, double p50us, double p99us) {}

    /** The driver jvdpa's front-end plays. */
    enum Kind {
        MODERN("modern split", VERSION_1, Endianness.LITTLE),
        PACKED("modern packed", VERSION_1 | RING_PACKED, Endianness.LITTLE),
        LEGACY_LE("legacy little-endian", 0, Endianness.LITTLE),
        LEGACY_BE("legacy big-endian", 0, Endianness.BIG);

        final String label;
        final long features;
        final Endianness order;

        Kind(String label, long features, Endianness order) {
            this.label = label;
            this.features = features;
            this.order = order;
        }
    }

    public static void main(String[] args) throws Exception {
        Usage.run("scripts/bench-blk", "[seconds] [rounds]", args, BlkSideBySide::measure);
    }

    private static void measure(String[] args) throws Exception {
        if (args.length > 2) {
            throw new Usage.Refused("at most two arguments, not " + args.length);
        }
        int seconds = args.length > 0 ? Usage.count(args[0], "seconds") : 5;
        int rounds = args.length > 1 ? Usage.count(args[1], "rounds") : 3;
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "jvdpa-bench-blk");
        Path image = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(IMAGE_SIZE);
            byte[] chunk = new byte[1 << 20];
            new SplittableRandom(1).nextBytes(chunk);
            for (long at = 0; at < IMAGE_SIZE; at += chunk.length) {
                f.write(chunk); // a written image: reads hit real pages, not holes
            }
        }
        StringBuilder table = new StringBuilder(
                "| workload | depth | qemu-storage-daemon IOPS (p50 / p99 µs) | jvdpa IOPS (p50 / p99 µs) | jvdpa / qsd |\n"
                        + "|---|---|---|---|---|\n");
        for (int type : new int[] {IN, OUT}) {
            for (int depth : new int[] {1, 32, 128}) {
                Result qsd = measureQsd(dir, image, type, depth, seconds);
                Result jvdpa = measureJvdpa(dir, image, type, depth, seconds, Kind.MODERN);
                String row = String.format(Locale.ROOT, "| 4 KiB random %s | %d | %.0f (%.0f / %.0f) | %.0f (%.0f / %.0f) | %.2f |%n",
                        type == IN ? "read" : "write", depth, qsd.iops, qsd.p50us, qsd.p99us, jvdpa.iops, jvdpa.p50us,
                        jvdpa.p99us, jvdpa.iops / qsd.iops);
                System.err.print(row);
                table.append(row);
            }
        }
        System.out.print(table);
        System.out.println();
        System.out.print(kinds(dir, image, seconds, rounds));
        Files.deleteIfExists(image);
        Files.deleteIfExists(dir.resolve("qsd.sock"));
        Files.deleteIfExists(dir.resolve("jvdpa.sock"));
        Files.deleteIfExists(dir);
    }

    private static Result measureQsd(Path dir, Path image, int type, int depth, int seconds) throws Exception {
        Path socket = dir.resolve("qsd.sock");
        Files.deleteIfExists(socket);
        try (StorageDaemon qsd = StorageDaemon.export(image, socket).writable(true).name("qsd-bench").start()) {
            return drive(socket, type, depth, seconds, Kind.MODERN);
        }
    }

    /** Every driver kind against the modern one, round by round; the table of medians and per-round ranges. */
    private static String kinds(Path dir, Path image, int seconds, int rounds) throws Exception {
        StringBuilder table = new StringBuilder("| workload | depth | driver | jvdpa IOPS, median (min - max) "
                + "| ratio to modern split, median (per-round min - max) |\n|---|---|---|---|---|\n");
        for (int type : new int[] {IN, OUT}) {
            for (int depth : new int[] {1, 32, 128}) {
                Kind[] kinds = Kind.values();
                double[][] iops = new double[kinds.length][rounds];
                for (int round = 0; round < rounds; round++) {
                    // The kind that goes first moves on by one each round, so that none always meets the machine first.
                    for (int i = 0; i < kinds.length; i++) {
                        Kind k = kinds[(round + i) % kinds.length];
                        iops[k.ordinal()][round] = measureJvdpa(dir, image, type, depth, seconds, k).iops;
                        System.err.printf(Locale.ROOT, "%s depth %d, %s, round %d: %.0f IOPS%n",
                                type == IN ? "read" : "write", depth, k.label, round + 1, iops[k.ordinal()][round]);
                    }
                }
                for (Kind k : kinds) {
                    double[] mine = iops[k.ordinal()];
                    double[] ratios = new double[rounds];
                    for (int round = 0; round < rounds; round++) {
                        ratios[round] = mine[round] / iops[Kind.MODERN.ordinal()][round];
                    }
                    Stats own = Stats.of(mine);
                    Stats ratio = Stats.of(ratios);
                    table.append(String.format(Locale.ROOT, "| 4 KiB random %s | %d | %s | %.0f (%.0f - %.0f) | %.3f "
                                    + "(%.3f - %.3f) |%n", type == IN ? "read" : "write", depth, k.label, own.median(),
                            own.min(), own.max(), ratio.median(), ratio.min(), ratio.max()));
                }
            }
        }
        return table.toString();
    }

    private static Result measureJvdpa(Path dir, Path image, int type, int depth, int seconds, Kind kind)
            throws Exception {
        Path socket = dir.resolve("jvdpa.sock");
        Files.deleteIfExists(socket);
        try (ManagedProcess jvdpa = ManagedProcess.builder("jvdpa-blk-bench")
                .command(List.of(RepoRoot.find().resolve("jvdpa").toString(), "blk", "--socket-path", socket.toString(),
                        "--image", image.toString(), "--log-level", "warn"))
                .maxLifetime(Duration.ofMinutes(5)).start()) {
            jvdpa.awaitPath(socket, Duration.ofSeconds(120));
            Result r = drive(socket, type, depth, seconds, kind);
            jvdpa.signal("TERM");
            jvdpa.waitFor(Duration.ofSeconds(10));
            return r;
        }
    }

    /** Keeps {@code depth} requests in flight for a warm-up second plus {@code seconds}, timing each. */
    private static Result drive(Path socket, int type, int depth, int seconds, Kind kind) throws Exception {
        try (DriverSession s = DriverSession.connect(socket, 64L << 20)) {
            long acked = s.negotiate(kind.features, PROTOCOL);
            if ((acked & kind.features) != kind.features) {
                throw new IllegalStateException(kind.label + ": the back-end did not take the features asked for");
            }
            if (kind.order == Endianness.BIG && !ProtocolFeature.CROSS_ENDIAN.in(s.protocolFeatures())) {
                throw new IllegalStateException(kind.label + ": the back-end did not offer CROSS_ENDIAN");
            }
            DriverRing ring = s.setUpRing(0, QUEUE_SIZE, kind.order);
            s.driverOk();
            long slots = s.ram().allocate((long) depth * 2 * BLOCK, BLOCK);
            long[] started = new long[depth];
            long[] latencies = new long[4_000_000];
            int samples = 0;
            long completed = 0;
            SplittableRandom random = new SplittableRandom(42);
            long blocks = IMAGE_SIZE / BLOCK;
            for (int slot = 0; slot < depth; slot++) {
                submit(s, ring, slots, slot, type, random.nextLong(blocks), started, kind.order);
            }
            ring.publishAndKick();
            UsedBuffer used = new UsedBuffer();
            long warmEnd = System.nanoTime() + 1_000_000_000L;
            long end = warmEnd + seconds * 1_000_000_000L;
            long measureStart = 0;
            while (true) {
                long now = System.nanoTime();
                if (now >= end) {
                    break;
                }
                boolean any = false;
                while (ring.queue().reap(used)) {
                    any = true;
                    int slot = used.token();
                    long done = System.nanoTime();
                    byte status = s.ram().at(statusAddr(slots, slot), 1).get(ValueLayout.JAVA_BYTE, 0);
                    if (status != 0) {
                        throw new IllegalStateException("request failed with status " + status);
                    }
                    if (done >= warmEnd) {
                        if (measureStart == 0) {
                            measureStart = done;
                        }
                        completed++;
                        if (samples < latencies.length) {
                            latencies[samples++] = done - started[slot];
                        }
                    }
                    submit(s, ring, slots, slot, type, random.nextLong(blocks), started, kind.order);
                }
                if (any) {
                    ring.publishAndKick();
                } else {
                    Thread.onSpinWait();
                }
            }
            double elapsed = (System.nanoTime() - measureStart) / 1e9;
            Arrays.sort(latencies, 0, samples);
            return new Result(completed / elapsed, latencies[samples / 2] / 1e3, latencies[(int) (samples * 0.99)] / 1e3);
        }
    }

    // Slot layout: [header 16 B | status 1 B | ...] in the first 4 KiB, data in the second.
    private static long headerAddr(long slots, int slot) {
        return slots + (long) slot * 2 * BLOCK;
    }

    private static long statusAddr(long slots, int slot) {
        return headerAddr(slots, slot) + 16;
    }

    private static long dataAddr(long slots, int slot) {
        return headerAddr(slots, slot) + BLOCK;
    }

    private static final long[] ADDRS = new long[3];
    private static final int[] LENS = new int[3];

    /** One request, its header (type, reserved, sector) in the driver's byte order. */
    private static void submit(DriverSession s, DriverRing ring, long slots, int slot, int type, long block,
                               long[] started, Endianness order) {
        MemorySegment header = s.ram().at(headerAddr(slots, slot), 17);
        order.putU32(header, 0, type);
        order.putU32(header, 4, 0);
        order.putU64(header, 8, block * (BLOCK / 512));
        header.set(ValueLayout.JAVA_BYTE, 16, (byte) 0xff);
        ADDRS[0] = headerAddr(slots, slot);
        LENS[0] = 16;
        ADDRS[1] = dataAddr(slots, slot);
        LENS[1] = BLOCK;
        ADDRS[2] = statusAddr(slots, slot);
        LENS[2] = 1;
        // A read's data is device-writable; a write's is device-readable.
        int readable = type == IN ? 1 : 2;
        started[slot] = System.nanoTime();
        if (!ring.queue().post(ADDRS, LENS, readable, 3 - readable, slot)) {
            throw new IllegalStateException("ring full at depth " + slot);
        }
    }

    private BlkSideBySide() {}
}

package io.jvdpa.blk;

import static io.jvdpa.blk.BlkDriver.EVENT_IDX;
import static io.jvdpa.blk.BlkDriver.INDIRECT;
import static io.jvdpa.blk.BlkDriver.RING_PACKED;
import static io.jvdpa.blk.BlkDriver.VERSION_1;
import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.blk.BlkDriver.Completion;
import io.jvdpa.blk.BlkDriver.Layout;
import io.jvdpa.device.VirtioFeatures;
import io.jvdpa.memory.Endianness;
import io.jvdpa.vhostuser.Frontend;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every request type through jvdpa's own front-end, for each driver kind (modern split and packed, legacy in
 * both byte orders) and each way of laying a request out in descriptors, checked against the image file.
 */
class BlkRequestsTest {
    static final long IMAGE_SIZE = 16L << 20;
    static final long BASE = BlkDriver.BLK_FEATURES | INDIRECT | EVENT_IDX;

    @TempDir
    Path dir;

    enum Kind {
        MODERN(BASE | VERSION_1, Endianness.LITTLE),
        PACKED(BASE | VERSION_1 | RING_PACKED, Endianness.LITTLE),
        LEGACY_LE(BASE, Endianness.LITTLE),
        LEGACY_BE(BASE, Endianness.BIG);

        final long features;
        final Endianness order;

        Kind(long features, Endianness order) {
            this.features = features;
            this.order = order;
        }
    }

    static Stream<Arguments> kindsAndLayouts() {
        return Stream.of(Kind.values()).flatMap(k -> Stream.of(Layout.values()).map(l -> Arguments.of(k, l)));
    }

    private BlkImage image() throws Exception {
        return BlkImage.open(dir.resolve("disk.img"), IMAGE_SIZE, false);
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("kindsAndLayouts")
    void writesReadBackAndLandInTheImageFile(Kind kind, Layout layout) throws Exception {
        Path socket = dir.resolve("blk.sock");
        try (BlkBackend b = new BlkBackend(socket, image(), BlkDeviceConfig.defaults("disk-serial-0001"));
             BlkDriver d = new BlkDriver(socket, kind.features, kind.order, true)) {
            d.setUpRing(0);
            Random random = new Random(kind.ordinal() * 31 + layout.ordinal());
            for (int len : new int[] {512, 4096, 65536 + 512, 512 * 3}) {
                byte[] data = new byte[len];
                random.nextBytes(data);
                long sector = 1 + random.nextInt((int) (IMAGE_SIZE / 512) - len / 512 - 1);
                Completion w = d.run(0, VirtioBlk.T_OUT, sector, data, 0, layout);
                assertThat(w.status()).as("write status").isEqualTo(VirtioBlk.S_OK);
                assertThat(w.usedLength()).isEqualTo(1);
                assertThat(fileBytes(sector * 512, len)).as("image file at sector %d", sector).isEqualTo(data);
                Completion r = d.run(0, VirtioBlk.T_IN, sector, new byte[0], len, layout);
                assertThat(r.status()).as("read status").isEqualTo(VirtioBlk.S_OK);
                assertThat(r.usedLength()).isEqualTo(len + 1);
                assertThat(r.data()).isEqualTo(data);
            }
            // The last sector of the disk is reachable; nothing beyond it.
            long last = IMAGE_SIZE / 512 - 1;
            byte[] tail = new byte[512];
            Arrays.fill(tail, (byte) 0x77);
            assertThat(d.run(0, VirtioBlk.T_OUT, last, tail, 0, layout).status()).isEqualTo(VirtioBlk.S_OK);
            assertThat(d.run(0, VirtioBlk.T_IN, last, new byte[0], 512, layout).data()).isEqualTo(tail);

            Completion id = d.run(0, VirtioBlk.T_GET_ID, 0, new byte[0], VirtioBlk.ID_BYTES, layout);
            assertThat(id.status()).isEqualTo(VirtioBlk.S_OK);
            assertThat(new String(id.data(), StandardCharsets.US_ASCII)).isEqualTo("disk-serial-0001\0\0\0\0");

            long syncs = b.device.image().syncs();
            assertThat(d.run(0, VirtioBlk.T_FLUSH, 0, new byte[0], 0, layout).status()).isEqualTo(VirtioBlk.S_OK);
            assertThat(b.device.image().syncs()).as("FLUSH is an fdatasync").isEqualTo(syncs + 1);
            assertThat(b.device.counters().ioErrors()).isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void configSpaceIsInTheDriversByteOrder(Kind kind) throws Exception {
        Path socket = dir.resolve("blk.sock");
        try (BlkBackend b = new BlkBackend(socket, image(),
                new BlkDeviceConfig("s", 3, false, CacheMode.WRITEBACK));
             BlkDriver d = new BlkDriver(socket, kind.features, kind.order, true)) {
            d.setUpRing(0);
            ByteBuffer c = ByteBuffer.wrap(d.config(BlkConfigSpace.SIZE)).order(kind.order.byteOrder());
            assertThat(c.getLong(BlkConfigSpace.CAPACITY)).isEqualTo(IMAGE_SIZE / 512);
            assertThat(c.getInt(BlkConfigSpace.SEG_MAX)).isEqualTo(BlkConfigSpace.SEG_MAX_SEGMENTS);
            assertThat(c.getInt(BlkConfigSpace.BLK_SIZE)).isEqualTo(512);
            assertThat(c.getShort(BlkConfigSpace.NUM_QUEUES)).isEqualTo((short) 3);
            assertThat(c.get(BlkConfigSpace.WRITEBACK)).isEqualTo((byte) 1);
            assertThat(c.getInt(BlkConfigSpace.MAX_DISCARD_SEG)).isEqualTo(BlkConfigSpace.MAX_DISCARD_SEGMENTS);
            // A request header in the same order is understood: a read of the disk's last sector works.
            assertThat(d.run(0, VirtioBlk.T_IN, IMAGE_SIZE / 512 - 1, new byte[0], 512, Layout.COMBINED).status())
                    .isEqualTo(VirtioBlk.S_OK);
            assertThat(d.run(0, VirtioBlk.T_IN, IMAGE_SIZE / 512, new byte[0], 512, Layout.COMBINED).status())
                    .as("one past the end").isEqualTo(VirtioBlk.S_IOERR);
        }
    }

    static Stream<Kind> kinds() {
        return Stream.of(Kind.values());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void discardPunchesHolesAndWriteZeroesHonoursUnmap(Kind kind) throws Exception {
        Path socket = dir.resolve("blk.sock");
        try (BlkBackend b = new BlkBackend(socket, image(), BlkDeviceConfig.defaults("s"));
             BlkDriver d = new BlkDriver(socket, kind.features, kind.order, true)) {
            d.setUpRing(0);
            // 512 KiB of ones: [0, 128K) discarded, [128K, 256K) zeroed with unmap, [256K, 384K) zeroed in place.
            byte[] ones = new byte[512 << 10];
            Arrays.fill(ones, (byte) 1);
            assertThat(d.run(0, VirtioBlk.T_OUT, 0, ones, 0, Layout.COMBINED).status()).isEqualTo(VirtioBlk.S_OK);
            assertThat(d.run(0, VirtioBlk.T_FLUSH, 0, new byte[0], 0, Layout.COMBINED).status()).isZero();
            long allocated = allocatedBytes();
            assertThat(allocated).isGreaterThanOrEqualTo(512 << 10);

            assertThat(d.run(0, VirtioBlk.T_DISCARD, 0, segments(d, 0, 256, 0), 0, Layout.COMBINED).status())
                    .isEqualTo(VirtioBlk.S_OK);
            assertThat(fileBytes(0, 128 << 10)).containsOnly(0);
            assertThat(allocatedBytes()).as("a hole").isLessThanOrEqualTo(allocated - (128 << 10));

            long before = allocatedBytes();
            byte[] two = concat(segments(d, 256, 256, VirtioBlk.DWZ_F_UNMAP), segments(d, 512, 256, 0));
            assertThat(d.run(0, VirtioBlk.T_WRITE_ZEROES, 0, two, 0, Layout.LEGACY_FRAMING).status())
                    .isEqualTo(VirtioBlk.S_OK);
            assertThat(fileBytes(128 << 10, 256 << 10)).containsOnly(0);
            assertThat(fileBytes(384 << 10, 128 << 10)).containsOnly(1);
            long after = allocatedBytes();
            assertThat(after).as("unmap frees the first segment only").isLessThanOrEqualTo(before - (128 << 10))
                    .isGreaterThanOrEqualTo(before - (128 << 10) - 8192);
            assertThat(b.device.counters().discards()).isEqualTo(1);
            assertThat(b.device.counters().writeZeroes()).isEqualTo(1);
        }
    }

    @Test
    void writeZeroesWorksOnTmpfsWhichCannotZeroARange() throws Exception {
        Path shm = Files.createTempDirectory(Path.of("/dev/shm"), "jvdpa-blk");
        Path file = shm.resolve("disk.img");
        Path socket = dir.resolve("blk.sock");
        try (BlkBackend b = new BlkBackend(socket, BlkImage.open(file, 4L << 20, false), BlkDeviceConfig.defaults("s"));
             BlkDriver d = new BlkDriver(socket, Kind.MODERN.features, Endianness.LITTLE, true)) {
            d.setUpRing(0);
            byte[] ones = new byte[64 << 10];
            Arrays.fill(ones, (byte) 1);
            assertThat(d.run(0, VirtioBlk.T_OUT, 0, ones, 0, Layout.COMBINED).status()).isZero();
            assertThat(d.run(0, VirtioBlk.T_WRITE_ZEROES, 0, segments(d, 0, 128, 0), 0, Layout.COMBINED).status()).isZero();
            assertThat(d.run(0, VirtioBlk.T_IN, 0, new byte[0], 64 << 10, Layout.COMBINED).data()).containsOnly(0);
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(shm);
        }
    }

    @Test
    void requestsOnSeveralQueuesRunOnTheirOwnWorkers() throws Exception {
        Path socket = dir.resolve("blk.sock");
        try (BlkBackend b = new BlkBackend(socket, image(), new BlkDeviceConfig("s", 2, false, CacheMode.WRITEBACK), 2,
                x -> x);
             BlkDriver d = new BlkDriver(socket, Kind.MODERN.features, Endianness.LITTLE, true)) {
            d.setUpRing(0);
            d.setUpRing(1);
            Random random = new Random(5);
            byte[][] data = new byte[8][];
            int[] tokens = new int[8];
            for (int i = 0; i < 8; i++) {
                data[i] = new byte[8192];
                random.nextBytes(data[i]);
                tokens[i] = d.post(i % 2, VirtioBlk.T_OUT, 16L * i, data[i], 0, Layout.COMBINED);
            }
            d.kick(0);
            d.kick(1);
            for (int token : tokens) {
                assertThat(d.await(token).status()).isEqualTo(VirtioBlk.S_OK);
            }
            for (int i = 0; i < 8; i++) {
                assertThat(fileBytes(16L * i * 512, 8192)).isEqualTo(data[i]);
            }
            assertThat(b.device.counters(0).writes()).isEqualTo(4);
            assertThat(b.device.counters(1).writes()).isEqualTo(4);
        }
    }

    /** One virtio_blk_discard_write_zeroes segment in the driver's byte order. */
    static byte[] segments(BlkDriver d, long sector, int sectors, int flags) {
        byte[] s = new byte[VirtioBlk.DISCARD_SEGMENT_SIZE];
        MemorySegment m = MemorySegment.ofArray(s);
        d.order().putU64(m, 0, sector);
        d.order().putU32(m, 8, sectors);
        d.order().putU32(m, 12, flags);
        return s;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private byte[] fileBytes(long offset, int len) throws Exception {
        try (FileChannel ch = FileChannel.open(dir.resolve("disk.img"), StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(buf, offset);
            return buf.array();
        }
    }

    /** st_blocks * 512 of the image. */
    private long allocatedBytes() throws Exception {
        Process p = new ProcessBuilder("stat", "-c", "%b", dir.resolve("disk.img").toString()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        assertThat(p.waitFor()).isZero();
        return Long.parseLong(out) * 512;
    }

    /**
     * What a front-end is offered: the blk features whose config fields the device fills, RO or DISCARD and
     * WRITE_ZEROES by whether the image may be written, and the ring and transport features of the framework.
     */
    @ParameterizedTest(name = "read-only {0}")
    @ValueSource(booleans = {false, true})
    void aFrontEndIsOfferedWhatTheDeviceServes(boolean readOnly) throws Exception {
        Path socket = dir.resolve("blk.sock");
        image().close();
        List<String> expected = new ArrayList<>(List.of("SIZE_MAX", "SEG_MAX", "BLK_SIZE", "TOPOLOGY", "FLUSH",
                "CONFIG_WCE", "MQ", "NOTIFY_ON_EMPTY", "ANY_LAYOUT", "LOG_ALL", "RING_INDIRECT_DESC", "RING_EVENT_IDX",
                "PROTOCOL_FEATURES", "VERSION_1", "RING_PACKED"));
        expected.addAll(readOnly ? List.of("RO") : List.of("DISCARD", "WRITE_ZEROES"));
        try (BlkBackend b = new BlkBackend(socket, BlkImage.open(dir.resolve("disk.img"), 0, readOnly),
                new BlkDeviceConfig("s", 2, readOnly, CacheMode.WRITEBACK));
             Frontend frontend = Frontend.connect(socket, Duration.ofSeconds(5))) {
            assertThat(VirtioFeatures.names(frontend.getFeatures(), VirtioBlk.FEATURE_NAMES))
                    .containsExactlyInAnyOrderElementsOf(expected);
        }
    }
}

package io.jvdpa.blk;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.blk.BlkDriver.Completion;
import io.jvdpa.blk.BlkDriver.Layout;
import io.jvdpa.blk.BlkRequestsTest.Kind;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * When a change is in the file and when it is durable, as the driver sees it: right after a request's used
 * entry appears, the file (read through a descriptor of its own) already holds the change, and the fdatasync
 * count at the image already includes the request's own sync in writethrough, none in writeback until FLUSH.
 * Every request type that changes the image, in every way the cache ends up writeback or writethrough.
 */
class DurabilityTest {
    /** The sectors each change covers: 4 KiB at 32 KiB, holding {@link #BEFORE} until the change. */
    static final long SECTOR = 64;
    static final int SECTORS = 8;
    static final int BYTES = SECTORS * VirtioBlk.SECTOR_SIZE;
    static final byte BEFORE = 1;
    static final byte WRITTEN = 0x5a;

    @TempDir
    Path dir;

    /** A request that changes the image, and what the changed sectors read afterwards. */
    enum Change {
        OUT(WRITTEN),
        DISCARD(0),
        WRITE_ZEROES(0),
        WRITE_ZEROES_UNMAP(0);

        final byte after;

        Change(int after) {
            this.after = (byte) after;
        }

        Completion run(BlkDriver d) throws Exception {
            return switch (this) {
                case OUT -> d.run(0, VirtioBlk.T_OUT, SECTOR, filled(WRITTEN), 0, Layout.SCATTERED);
                case DISCARD -> d.run(0, VirtioBlk.T_DISCARD, 0, BlkRequestsTest.segments(d, SECTOR, SECTORS, 0), 0,
                        Layout.COMBINED);
                case WRITE_ZEROES -> d.run(0, VirtioBlk.T_WRITE_ZEROES, 0,
                        BlkRequestsTest.segments(d, SECTOR, SECTORS, 0), 0, Layout.COMBINED);
                case WRITE_ZEROES_UNMAP -> d.run(0, VirtioBlk.T_WRITE_ZEROES, 0,
                        BlkRequestsTest.segments(d, SECTOR, SECTORS, VirtioBlk.DWZ_F_UNMAP), 0, Layout.COMBINED);
            };
        }
    }

    /** How the cache mode comes about. */
    enum Cache {
        WRITEBACK(CacheMode.WRITEBACK, true, false, false),
        WRITETHROUGH(CacheMode.WRITETHROUGH, true, false, true),
        /** Configured writeback, switched by the driver through the config space's writeback field. */
        SET_WRITETHROUGH_BY_THE_DRIVER(CacheMode.WRITEBACK, true, true, true),
        /** Configured writeback, but a driver that cannot flush gets writethrough. */
        DRIVER_WITHOUT_FLUSH(CacheMode.WRITEBACK, false, false, true);

        final CacheMode configured;
        final boolean flush;
        final boolean driverSetsWritethrough;
        final boolean writethrough;

        Cache(CacheMode configured, boolean flush, boolean driverSetsWritethrough, boolean writethrough) {
            this.configured = configured;
            this.flush = flush;
            this.driverSetsWritethrough = driverSetsWritethrough;
            this.writethrough = writethrough;
        }
    }

    static Stream<Arguments> changesCachesAndKinds() {
        return Stream.of(Change.values()).flatMap(change -> Stream.of(Cache.values()).flatMap(cache -> Stream.of(
                Kind.MODERN, Kind.PACKED, Kind.LEGACY_BE).map(kind -> Arguments.of(change, cache, kind))));
    }

    private BlkBackend backend(CacheMode mode) throws Exception {
        return new BlkBackend(dir.resolve("blk.sock"), BlkImage.open(dir.resolve("disk.img"), 1 << 20, false),
                new BlkDeviceConfig("s", 1, false, mode));
    }

    @ParameterizedTest(name = "{0}, {1}, {2}")
    @MethodSource("changesCachesAndKinds")
    void aChangeIsInTheFileWhenItCompletesAndDurableAsTheCacheSays(Change change, Cache cache, Kind kind)
            throws Exception {
        long features = cache.flush ? kind.features : kind.features & ~(1L << VirtioBlk.F_FLUSH);
        try (BlkBackend b = backend(cache.configured);
             BlkDriver d = new BlkDriver(dir.resolve("blk.sock"), features, kind.order, true);
             FileChannel file = FileChannel.open(dir.resolve("disk.img"), StandardOpenOption.READ)) {
            d.setUpRing(0);
            if (cache.driverSetsWritethrough) {
                d.frontend().setConfig(BlkConfigSpace.WRITEBACK, new byte[] {0});
            }
            assertThat(d.run(0, VirtioBlk.T_OUT, SECTOR, filled(BEFORE), 0, Layout.COMBINED).status()).isZero();
            assertThat(read(file)).containsOnly(BEFORE);
            long before = b.device.image().syncs();

            Completion done = change.run(d);
            // The driver has just seen the used entry: nothing the device does from here on counts.
            long syncs = b.device.image().syncs();
            byte[] seen = read(file);

            assertThat(done.status()).isEqualTo(VirtioBlk.S_OK);
            assertThat(seen).as("the file when the driver saw the completion").containsOnly(change.after);
            assertThat(syncs - before).as("fdatasyncs by the time the driver saw the completion")
                    .isEqualTo(cache.writethrough ? 1 : 0);
            if (cache.flush) {
                assertThat(d.run(0, VirtioBlk.T_FLUSH, 0, new byte[0], 0, Layout.LEGACY_FRAMING).status()).isZero();
                assertThat(b.device.image().syncs() - syncs).as("FLUSH syncs").isEqualTo(1);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"MODERN", "LEGACY_BE"})
    void requestsThatChangeNothingDoNotSyncInWritethrough(Kind kind) throws Exception {
        try (BlkBackend b = backend(CacheMode.WRITETHROUGH);
             BlkDriver d = new BlkDriver(dir.resolve("blk.sock"), kind.features, kind.order, true)) {
            d.setUpRing(0);
            assertThat(d.run(0, VirtioBlk.T_IN, 0, new byte[0], 4096, Layout.COMBINED).status()).isZero();
            assertThat(d.run(0, VirtioBlk.T_GET_ID, 0, new byte[0], VirtioBlk.ID_BYTES, Layout.COMBINED).status())
                    .isZero();
            assertThat(d.run(0, VirtioBlk.T_OUT, 1L << 20, filled(WRITTEN), 0, Layout.COMBINED).status())
                    .as("refused").isEqualTo(VirtioBlk.S_IOERR);
            assertThat(b.device.image().syncs()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"MODERN", "LEGACY_BE"})
    void theDriverSwitchesTheCacheThroughTheWritebackField(Kind kind) throws Exception {
        try (BlkBackend b = backend(CacheMode.WRITEBACK);
             BlkDriver d = new BlkDriver(dir.resolve("blk.sock"), kind.features, kind.order, true)) {
            d.setUpRing(0);
            assertThat(d.config(BlkConfigSpace.SIZE)[BlkConfigSpace.WRITEBACK]).isEqualTo((byte) 1);
            d.frontend().setConfig(BlkConfigSpace.WRITEBACK, new byte[] {0});
            assertThat(d.config(BlkConfigSpace.SIZE)[BlkConfigSpace.WRITEBACK]).isZero();
            assertThat(d.run(0, VirtioBlk.T_OUT, 0, filled(WRITTEN), 0, Layout.COMBINED).status()).isZero();
            assertThat(b.device.image().syncs()).isEqualTo(1);
            d.frontend().setConfig(BlkConfigSpace.WRITEBACK, new byte[] {1});
            assertThat(d.run(0, VirtioBlk.T_OUT, 8, filled(WRITTEN), 0, Layout.COMBINED).status()).isZero();
            assertThat(b.device.image().syncs()).isEqualTo(1);
        }
    }

    static byte[] filled(byte value) {
        byte[] data = new byte[BYTES];
        Arrays.fill(data, value);
        return data;
    }

    private static byte[] read(FileChannel file) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(BYTES);
        assertThat(file.read(buf, SECTOR * VirtioBlk.SECTOR_SIZE)).isEqualTo(BYTES);
        return buf.array();
    }
}

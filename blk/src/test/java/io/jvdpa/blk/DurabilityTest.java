package io.jvdpa.blk;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.blk.BlkDriver.Layout;
import io.jvdpa.blk.BlkRequestsTest.Kind;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * When data is durable: fdatasync calls counted at the image (each completes before the request it belongs to is
 * seen by the driver, so the count is checked right after each completion).
 */
class DurabilityTest {
    @TempDir
    Path dir;

    private BlkBackend backend(CacheMode mode) throws Exception {
        return new BlkBackend(dir.resolve("blk.sock"), BlkImage.open(dir.resolve("disk.img"), 1 << 20, false),
                new BlkDeviceConfig("s", 1, false, mode));
    }

    private static int write(BlkDriver d, long sector) throws Exception {
        return d.run(0, VirtioBlk.T_OUT, sector, new byte[4096], 0, Layout.COMBINED).status();
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"MODERN", "PACKED", "LEGACY_BE"})
    void writebackSyncsOnlyOnFlush(Kind kind) throws Exception {
        try (BlkBackend b = backend(CacheMode.WRITEBACK);
             BlkDriver d = new BlkDriver(dir.resolve("blk.sock"), kind.features, kind.order, true)) {
            d.setUpRing(0);
            for (int i = 0; i < 5; i++) {
                assertThat(write(d, 8L * i)).isZero();
            }
            assertThat(b.device.image().syncs()).isZero();
            assertThat(d.run(0, VirtioBlk.T_FLUSH, 0, new byte[0], 0, Layout.LEGACY_FRAMING).status()).isZero();
            assertThat(b.device.image().syncs()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"MODERN", "PACKED", "LEGACY_BE"})
    void writethroughSyncsBeforeEveryWriteCompletes(Kind kind) throws Exception {
        try (BlkBackend b = backend(CacheMode.WRITETHROUGH);
             BlkDriver d = new BlkDriver(dir.resolve("blk.sock"), kind.features, kind.order, true)) {
            d.setUpRing(0);
            for (int i = 1; i <= 5; i++) {
                assertThat(write(d, 8L * i)).isZero();
                assertThat(b.device.image().syncs()).as("after write %d", i).isEqualTo(i);
            }
            byte[] seg = BlkRequestsTest.segments(d, 0, 8, 0);
            assertThat(d.run(0, VirtioBlk.T_WRITE_ZEROES, 0, seg, 0, Layout.COMBINED).status()).isZero();
            assertThat(b.device.image().syncs()).isEqualTo(6);
            assertThat(d.run(0, VirtioBlk.T_IN, 0, new byte[0], 4096, Layout.COMBINED).status()).isZero();
            assertThat(b.device.image().syncs()).as("reads do not sync").isEqualTo(6);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"MODERN", "LEGACY_LE"})
    void aDriverWithoutFlushGetsWritethrough(Kind kind) throws Exception {
        try (BlkBackend b = backend(CacheMode.WRITEBACK);
             BlkDriver d = new BlkDriver(dir.resolve("blk.sock"), kind.features & ~(1L << VirtioBlk.F_FLUSH), kind.order,
                     true)) {
            d.setUpRing(0);
            assertThat(write(d, 0)).isZero();
            assertThat(write(d, 8)).isZero();
            assertThat(b.device.image().syncs()).isEqualTo(2);
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
            assertThat(write(d, 0)).isZero();
            assertThat(b.device.image().syncs()).isEqualTo(1);
            d.frontend().setConfig(BlkConfigSpace.WRITEBACK, new byte[] {1});
            assertThat(write(d, 8)).isZero();
            assertThat(b.device.image().syncs()).isEqualTo(1);
        }
    }
}

package io.jvdpa.blk;

import static io.jvdpa.blk.BlkRequestsTest.concat;
import static io.jvdpa.blk.BlkRequestsTest.segments;
import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.blk.BlkDriver.Completion;
import io.jvdpa.blk.BlkDriver.Layout;
import io.jvdpa.blk.BlkRequestsTest.Kind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rule a request can break, one row each: the request completes with the status the spec asks for, the
 * image file is not touched (same contents, same size), and the device goes on serving the next request.
 */
class BadRequestsTest {
    static final long SIZE = 1L << 20;
    static final long CAPACITY = SIZE / 512;
    static final int NO_STATUS = -1;

    @TempDir
    Path dir;

    /** A driver posts a request and returns its token. */
    interface Post {
        int post(BlkDriver d);
    }

    record Case(String name, boolean readOnly, long withoutFeatures, Post request, int expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Case ioerr(String name, Post request) {
        return new Case(name, false, 0, request, VirtioBlk.S_IOERR);
    }

    static Case unsupp(String name, Post request) {
        return new Case(name, false, 0, request, VirtioBlk.S_UNSUPP);
    }

    static byte[] zeros(int n) {
        return new byte[n];
    }

    static byte[] many(BlkDriver d, int count) {
        byte[] out = new byte[0];
        for (int i = 0; i < count; i++) {
            out = concat(out, segments(d, 8L * i, 8, 0));
        }
        return out;
    }

    static final List<Case> CASES = List.of(
            ioerr("header shorter than 16 bytes",
                    d -> d.postRaw(0, Arrays.copyOf(d.header(VirtioBlk.T_IN, 0), 10), zeros(0), 512, true, Layout.COMBINED)),
            ioerr("header missing altogether", d -> d.postRaw(0, zeros(0), zeros(0), 512, true, Layout.LEGACY_FRAMING)),
            ioerr("read of 513 bytes", d -> d.post(0, VirtioBlk.T_IN, 0, zeros(0), 513, Layout.COMBINED)),
            ioerr("write of 1000 bytes", d -> d.post(0, VirtioBlk.T_OUT, 0, zeros(1000), 0, Layout.COMBINED)),
            ioerr("read at the capacity", d -> d.post(0, VirtioBlk.T_IN, CAPACITY, zeros(0), 512, Layout.COMBINED)),
            ioerr("read straddling the end", d -> d.post(0, VirtioBlk.T_IN, CAPACITY - 1, zeros(0), 1024, Layout.SCATTERED)),
            ioerr("write straddling the end", d -> d.post(0, VirtioBlk.T_OUT, CAPACITY - 1, zeros(1024), 0, Layout.COMBINED)),
            ioerr("write at sector 2^64-1", d -> d.post(0, VirtioBlk.T_OUT, -1L, zeros(512), 0, Layout.COMBINED)),
            ioerr("write at a sector whose byte offset wraps", d -> d.post(0, VirtioBlk.T_OUT, 1L << 55, zeros(512), 0, Layout.COMBINED)),
            ioerr("read at a sector whose byte offset wraps", d -> d.post(0, VirtioBlk.T_IN, 0x7fL << 56, zeros(0), 512, Layout.COMBINED)),
            ioerr("read carrying readable data", d -> d.post(0, VirtioBlk.T_IN, 0, zeros(512), 512, Layout.COMBINED)),
            ioerr("flush carrying data", d -> d.post(0, VirtioBlk.T_FLUSH, 0, zeros(512), 0, Layout.COMBINED)),
            ioerr("get-id carrying data", d -> d.post(0, VirtioBlk.T_GET_ID, 0, zeros(16), 20, Layout.COMBINED)),
            unsupp("unknown type 99", d -> d.post(0, 99, 0, zeros(0), 0, Layout.COMBINED)),
            unsupp("legacy SCSI command", d -> d.post(0, 2, 0, zeros(0), 512, Layout.LEGACY_FRAMING)),
            unsupp("legacy barrier flag", d -> d.post(0, 0x8000_0001, 0, zeros(512), 0, Layout.LEGACY_FRAMING)),
            unsupp("get lifetime", d -> d.post(0, VirtioBlk.T_GET_LIFETIME, 0, zeros(0), 16, Layout.COMBINED)),
            unsupp("secure erase", d -> d.post(0, VirtioBlk.T_SECURE_ERASE, 0, segments(d, 0, 8, 0), 0, Layout.COMBINED)),
            unsupp("discard with the unmap flag",
                    d -> d.post(0, VirtioBlk.T_DISCARD, 0, segments(d, 0, 8, VirtioBlk.DWZ_F_UNMAP), 0, Layout.COMBINED)),
            unsupp("discard with a reserved flag", d -> d.post(0, VirtioBlk.T_DISCARD, 0, segments(d, 0, 8, 4), 0, Layout.COMBINED)),
            unsupp("write zeroes with a reserved flag",
                    d -> d.post(0, VirtioBlk.T_WRITE_ZEROES, 0, segments(d, 0, 8, 3), 0, Layout.COMBINED)),
            ioerr("discard past the end",
                    d -> d.post(0, VirtioBlk.T_DISCARD, 0, segments(d, CAPACITY - 4, 8, 0), 0, Layout.COMBINED)),
            ioerr("write zeroes with a second segment past the end",
                    d -> d.post(0, VirtioBlk.T_WRITE_ZEROES, 0,
                            concat(segments(d, 0, 8, 0), segments(d, -8L, 16, 0)), 0, Layout.SCATTERED)),
            ioerr("discard list of 10 bytes", d -> d.post(0, VirtioBlk.T_DISCARD, 0, zeros(10), 0, Layout.COMBINED)),
            ioerr("discard without segments", d -> d.post(0, VirtioBlk.T_DISCARD, 0, zeros(0), 0, Layout.COMBINED)),
            ioerr("33 discard segments", d -> d.post(0, VirtioBlk.T_DISCARD, 0, many(d, 33), 0, Layout.COMBINED)),
            ioerr("discard segment over the announced sectors",
                    d -> d.post(0, VirtioBlk.T_DISCARD, 0,
                            segments(d, 0, BlkConfigSpace.MAX_DISCARD_SECTORS_VALUE + 1, 0), 0, Layout.COMBINED)),
            new Case("no writable byte for the status", false, 0,
                    d -> d.postRaw(0, d.header(VirtioBlk.T_OUT, 0), zeros(512), 0, false, Layout.COMBINED), NO_STATUS),
            new Case("read with no writable byte at all", false, 0,
                    d -> d.postRaw(0, d.header(VirtioBlk.T_IN, 0), zeros(0), 0, false, Layout.LEGACY_FRAMING), NO_STATUS),
            new Case("write to a read-only device", true, 0,
                    d -> d.post(0, VirtioBlk.T_OUT, 0, zeros(512), 0, Layout.COMBINED), VirtioBlk.S_IOERR),
            new Case("discard on a read-only device", true, 0,
                    d -> d.post(0, VirtioBlk.T_DISCARD, 0, segments(d, 0, 8, 0), 0, Layout.COMBINED), VirtioBlk.S_UNSUPP),
            new Case("write zeroes not negotiated", false, 1L << VirtioBlk.F_WRITE_ZEROES,
                    d -> d.post(0, VirtioBlk.T_WRITE_ZEROES, 0, segments(d, 0, 8, 0), 0, Layout.COMBINED), VirtioBlk.S_UNSUPP));

    static Stream<Arguments> cases() {
        return Stream.of(Kind.MODERN, Kind.LEGACY_BE).flatMap(k -> CASES.stream().map(c -> Arguments.of(c, k)));
    }

    @ParameterizedTest(name = "{0} ({1})")
    @MethodSource("cases")
    void aBadRequestFailsAloneAndTouchesNothing(Case c, Kind kind) throws Exception {
        Path file = dir.resolve("disk.img");
        byte[] pattern = new byte[(int) SIZE];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (byte) (i * 7 + i / 512);
        }
        Files.write(file, pattern);
        Path socket = dir.resolve("blk.sock");
        BlkDeviceConfig config = new BlkDeviceConfig("s", 1, c.readOnly(), CacheMode.WRITEBACK);
        try (BlkBackend b = new BlkBackend(socket, BlkImage.open(file, 0, c.readOnly()), config);
             BlkDriver d = new BlkDriver(socket, kind.features & ~c.withoutFeatures(), kind.order, true)) {
            d.setUpRing(0);
            String before = sha256(file);
            int token = c.request().post(d);
            d.kick(0);
            Completion done = d.await(token);
            if (c.expected() == NO_STATUS) {
                assertThat(done.usedLength()).as("returned without a status").isZero();
                assertThat(b.device.counters().unanswerable()).isEqualTo(1);
            } else {
                assertThat(done.status()).as("status").isEqualTo(c.expected());
                assertThat(b.device.lastError(0)).isNotNull();
            }
            assertThat(sha256(file)).as("image unchanged").isEqualTo(before);
            assertThat(Files.size(file)).isEqualTo(SIZE);
            // The queue carries on.
            Completion next = d.run(0, VirtioBlk.T_IN, CAPACITY - 1, zeros(0), 512, Layout.COMBINED);
            assertThat(next.status()).isEqualTo(VirtioBlk.S_OK);
            assertThat(next.data()).isEqualTo(Arrays.copyOfRange(pattern, (int) SIZE - 512, (int) SIZE));
        }
    }

    static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}

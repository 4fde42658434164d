package io.jvdpa.blk;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.blk.BlkDriver.Layout;
import io.jvdpa.blk.BlkRequestsTest.Kind;
import io.jvdpa.virtqueue.DescriptorChain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Reconnect without loss: the back-end dies with requests in flight (taken only; carried out but not completed;
 * some completed, one completed but not published), a new back-end process starts on the same socket and image,
 * and the front-end reconnects as QEMU does with {@code reconnect=1}, handing back the inflight area. Every request
 * completes exactly once, every write is in the image, and the ring carries on.
 */
class InflightReconnectTest {
    static final int IN_FLIGHT = 6;

    @TempDir
    Path dir;

    enum Death { TAKEN, CARRIED_OUT, PARTLY_COMPLETED }

    static Stream<Arguments> cases() {
        return Stream.of(Kind.MODERN, Kind.PACKED, Kind.LEGACY_BE)
                .flatMap(k -> Stream.of(Death.values()).map(d -> Arguments.of(k, d)));
    }

    @ParameterizedTest(name = "{0}, died after requests were {1}")
    @MethodSource("cases")
    void requestsInFlightAreResubmittedByTheNextBackend(Kind kind, Death death) throws Exception {
        Path socket = dir.resolve("blk.sock");
        Path file = dir.resolve("disk.img");
        BlkDeviceConfig config = BlkDeviceConfig.defaults("s");
        DyingDevice[] dying = new DyingDevice[1];
        BlkBackend first = new BlkBackend(socket, BlkImage.open(file, 4 << 20, false), config, 1,
                d -> dying[0] = new DyingDevice(d));
        try (BlkDriver d = new BlkDriver(socket, kind.features, kind.order, true)) {
            d.setUpRing(0);
            Random random = new Random(kind.ordinal() * 7 + death.ordinal());
            // Some ordinary traffic first, so ring indices are nowhere near their start.
            for (int i = 0; i < 21; i++) {
                assertThat(d.run(0, VirtioBlk.T_OUT, 8L * i, new byte[4096], 0, Layout.COMBINED).status()).isZero();
            }
            dying[0].dieWith((q, handler) -> {
                List<DescriptorChain> taken = new ArrayList<>();
                DescriptorChain c = new DescriptorChain();
                while (q.pop(c)) {
                    taken.add(c);
                    c = new DescriptorChain();
                }
                assertThat(taken).hasSize(IN_FLIGHT);
                if (death == Death.TAKEN) {
                    return;
                }
                int[] used = new int[taken.size()];
                for (int i = 0; i < taken.size(); i++) {
                    used[i] = handler.handle(taken.get(i));
                }
                if (death == Death.PARTLY_COMPLETED) {
                    q.addUsed(taken.get(3), used[3]);
                    q.addUsed(taken.get(1), used[1]);
                    q.publish();
                    q.addUsed(taken.get(0), used[0]);
                }
            });
            byte[][] data = new byte[IN_FLIGHT][];
            int[] tokens = new int[IN_FLIGHT];
            for (int i = 0; i < IN_FLIGHT; i++) {
                data[i] = new byte[8192];
                random.nextBytes(data[i]);
                tokens[i] = d.post(0, VirtioBlk.T_OUT, 1000 + 16L * i, data[i], 0,
                        i % 2 == 0 ? Layout.LEGACY_FRAMING : Layout.INDIRECT);
            }
            d.kick(0);
            assertThat(dying[0].died.await(10, TimeUnit.SECONDS)).isTrue();
            first.close();
            d.disconnect();

            try (BlkBackend second = new BlkBackend(socket, BlkImage.open(file, 0, false), config)) {
                d.reconnect();
                for (int i = 0; i < IN_FLIGHT; i++) {
                    assertThat(d.await(tokens[i]).status()).as("request %d", i).isEqualTo(VirtioBlk.S_OK);
                }
                byte[] image = Files.readAllBytes(file);
                for (int i = 0; i < IN_FLIGHT; i++) {
                    int at = (1000 + 16 * i) * 512;
                    assertThat(Arrays.mismatch(Arrays.copyOfRange(image, at, at + 8192), data[i]))
                            .as("first byte of write %d that differs in the image", i).isEqualTo(-1);
                }
                int completedBefore = death == Death.PARTLY_COMPLETED ? 2 : 0;
                assertThat(second.device.counters().writes()).as("resubmitted writes")
                        .isEqualTo(IN_FLIGHT - completedBefore);
                // The ring goes on from where the first back-end left it.
                for (int i = 0; i < 70; i++) {
                    byte[] more = new byte[512];
                    random.nextBytes(more);
                    assertThat(d.run(0, VirtioBlk.T_OUT, 3000 + i, more, 0, Layout.COMBINED).status()).isZero();
                    assertThat(d.run(0, VirtioBlk.T_IN, 3000 + i, new byte[0], 512, Layout.SCATTERED).data()).isEqualTo(more);
                }
            }
        } finally {
            first.close();
        }
    }

    /**
     * A front-end that sees the back-end go stops listening on its call fd, so the notification for the last used
     * buffers an orderly stop published can be lost; the back-end the front-end reconnects to notifies once, even with
     * nothing to resubmit, or the driver would wait for them forever.
     */
    @Test
    void aRestartedBackendNotifiesTheDriverThoughNothingWasInFlight() throws Exception {
        Path socket = dir.resolve("blk.sock");
        Path file = dir.resolve("disk.img");
        BlkDeviceConfig config = BlkDeviceConfig.defaults("s");
        BlkBackend first = new BlkBackend(socket, BlkImage.open(file, 4 << 20, false), config);
        try (BlkDriver d = new BlkDriver(socket, Kind.MODERN.features, Kind.MODERN.order, true)) {
            d.setUpRing(0);
            assertThat(d.run(0, VirtioBlk.T_OUT, 8, new byte[4096], 0, Layout.COMBINED).status()).isZero();
            first.close();
            d.disconnect();
            d.notifications(0); // what the stopped back-end signalled is gone with the front-end's old listener

            try (BlkBackend second = new BlkBackend(socket, BlkImage.open(file, 0, false), config)) {
                d.reconnect();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                long notified = 0;
                while (notified == 0 && System.nanoTime() < deadline) {
                    notified = d.notifications(0);
                    Thread.sleep(10);
                }
                assertThat(notified).as("notifications after the reconnect").isPositive();
                assertThat(second.device.counters().writes()).as("requests resubmitted").isZero();
                assertThat(d.run(0, VirtioBlk.T_IN, 8, new byte[0], 4096, Layout.COMBINED).status()).isZero();
            }
        } finally {
            first.close();
        }
    }
}

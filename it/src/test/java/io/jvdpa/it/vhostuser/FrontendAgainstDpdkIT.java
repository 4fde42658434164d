package io.jvdpa.it.vhostuser;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.memory.Endianness;
import io.jvdpa.testing.ForwardStats;
import io.jvdpa.testing.Testpmd;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.virtqueue.UsedBuffer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * jvdpa's own front-end against DPDK's vhost PMD (dpdk-testpmd, io forwarding): every frame sent on the
 * guest's TX queue comes back on its RX queue, byte for byte, and testpmd counts the same frames.
 */
class FrontendAgainstDpdkIT {
    private static final long VERSION_1 = 1L << 32;
    private static final long RING_PACKED = 1L << 34;
    private static final long PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.MQ, ProtocolFeature.REPLY_ACK,
            ProtocolFeature.CROSS_ENDIAN, ProtocolFeature.CONFIG, ProtocolFeature.STATUS);
    private static final int FRAMES = 2000;
    private static final int FRAME = 60;

    @ParameterizedTest(name = "{0}")
    @CsvSource({"modern split", "modern packed", "legacy split"})
    void framesMakeTheRoundTrip(String kind) throws Exception {
        Path dir = Files.createTempDirectory("jvdpa-dpdk");
        Path socket = dir.resolve("vhost.sock");
        boolean legacy = kind.startsWith("legacy");
        long wanted = (legacy ? 0 : VERSION_1) | (kind.endsWith("packed") ? RING_PACKED : 0);
        int header = legacy ? 10 : 12; // no MRG_RXBUF: 10 bytes unless VERSION_1 (virtio 1.2 5.1.6)
        try (Testpmd testpmd = Testpmd.vhostBackend(socket).forwardMode(Testpmd.ForwardMode.IO).start();
             DriverSession s = DriverSession.connect(socket, 4 << 20)) {
            s.negotiate(wanted, PROTOCOL);
            assertThat(s.features() & VERSION_1).isEqualTo(wanted & VERSION_1);
            DriverRing rx = s.setUpRing(0, 256, Endianness.LITTLE);
            DriverRing tx = s.setUpRing(1, 256, Endianness.LITTLE);
            s.driverOk();
            testpmd.awaitForwarding(Duration.ofSeconds(30));

            long rxBufs = s.ram().allocate(256L * 2048, 4096);
            long txBufs = s.ram().allocate(256L * 2048, 4096);
            for (int i = 0; i < 128; i++) {
                assertThat(rx.queue().post(rxBufs + i * 2048L, 2048, true, i)).isTrue();
            }
            rx.publishAndKick();

            UsedBuffer used = new UsedBuffer();
            int sent = 0;
            int received = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (received < FRAMES) {
                assertThat(System.nanoTime()).as("%d of %d frames back", received, FRAMES).isLessThan(deadline);
                // Keep a few frames in flight: write each one with its sequence number.
                while (sent < FRAMES && sent - received < 32) {
                    int slot = sent % 256;
                    long addr = txBufs + slot * 2048L;
                    MemorySegment buf = s.ram().at(addr, header + FRAME);
                    buf.fill((byte) 0);
                    frame(buf.asSlice(header), sent);
                    assertThat(tx.queue().post(addr, header + FRAME, false, sent)).isTrue();
                    sent++;
                }
                tx.publishAndKick();
                while (tx.queue().reap(used)) {
                    // transmitted: the slot may be reused
                }
                while (rx.queue().reap(used)) {
                    long addr = rxBufs + used.token() * 2048L;
                    assertThat(used.length()).isEqualTo(header + FRAME);
                    MemorySegment got = s.ram().at(addr + header, FRAME);
                    MemorySegment expected = MemorySegment.ofArray(new byte[FRAME]);
                    frame(expected, received);
                    assertThat(got.mismatch(expected)).as("frame %d", received).isEqualTo(-1);
                    received++;
                    assertThat(rx.queue().post(addr, 2048, true, used.token())).isTrue();
                }
                rx.publishAndKick();
                Thread.onSpinWait();
            }
            List<ForwardStats> stats = testpmd.stop();
            assertThat(stats.getFirst().rxPackets()).isEqualTo(FRAMES);
            assertThat(stats.getFirst().txPackets()).isEqualTo(FRAMES);
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    /** A broadcast Ethernet frame whose payload carries {@code seq}. */
    private static void frame(MemorySegment f, int seq) {
        for (int i = 0; i < 6; i++) {
            f.set(ValueLayout.JAVA_BYTE, i, (byte) 0xff);
        }
        f.set(ValueLayout.JAVA_BYTE, 6, (byte) 0x52);
        f.set(ValueLayout.JAVA_BYTE, 7, (byte) 0x54);
        f.set(ValueLayout.JAVA_BYTE, 12, (byte) 0x88);
        f.set(ValueLayout.JAVA_BYTE, 13, (byte) 0xb5); // local experimental ethertype
        f.set(ValueLayout.JAVA_INT_UNALIGNED, 14, seq);
        for (int i = 18; i < f.byteSize(); i++) {
            f.set(ValueLayout.JAVA_BYTE, i, (byte) (seq + i));
        }
    }
}

package io.jvdpa.net;

import static io.jvdpa.net.NetTestDriver.VERSION_1;
import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.device.DeviceProfile;
import io.jvdpa.memory.Endianness;
import io.jvdpa.virtqueue.UsedBuffer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The data path allocates nothing per frame: the worker thread's allocated bytes, as the JVM counts them, stay
 * below one object per frame while tens of thousands of frames go through the device (after a warm-up that lets
 * the JIT compile).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AllocationTest {
    private static final int BUFFERS = 128;
    private static final int FRAMES = 40_000;

    @ParameterizedTest(name = "{0}, {1} driver {2}")
    @CsvSource({"reflect, modern, LITTLE", "reflect, legacy, BIG", "gateway, modern, LITTLE", "sink, modern, LITTLE"})
    void theWorkerAllocatesNothingPerFrame(String network, String kind, Endianness order) throws Exception {
        Network net = switch (network) {
            case "reflect" -> new ReflectNetwork();
            case "gateway" -> new GatewayNetwork();
            default -> new SinkNetwork();
        };
        long features = (kind.equals("modern") ? VERSION_1 : 0)
                | VirtioNetFeatures.bits(VirtioNetFeatures.MRG_RXBUF, VirtioNetFeatures.GUEST_CSUM);
        try (DeviceFixture f = new DeviceFixture(net, DeviceProfile.DEFAULT);
             NetTestDriver d = NetTestDriver.start(f.socket(), features, order, 1)) {
            Loop loop = new Loop(d, network.equals("gateway")
                    ? Frames.ping(Frames.GUEST_MAC, GatewayNetwork.DEFAULT_MAC, Frames.GUEST_IP, Frames.GATEWAY_IP, 1, 56)
                    : Frames.ethernet(0x02_00_00_00_00_09L, Frames.GUEST_MAC, 0x88B5, Frames.payload(50, 1)),
                    !network.equals("sink"));
            long worker = workerThreadId("net0-w0");
            com.sun.management.ThreadMXBean threads =
                    (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            loop.run(FRAMES);
            long before = threads.getThreadAllocatedBytes(worker);
            loop.run(FRAMES);
            long allocated = threads.getThreadAllocatedBytes(worker) - before;
            assertThat(f.device.counters().txFrames()).isEqualTo(2L * FRAMES);
            if (!network.equals("sink")) {
                assertThat(f.device.counters().rxFrames()).isEqualTo(2L * FRAMES);
            }
            // The smallest object is 16 bytes: one per frame, or even one per kick (the driver kicks once per
            // burst), would exceed this bound, which only leaves room for a stray allocation by the runtime.
            assertThat(allocated).as("bytes the worker allocated for %d frames", FRAMES).isLessThan(FRAMES / 2);
        }
    }

    private static long workerThreadId(String name) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no thread " + name)).threadId();
    }

    /** Sends frames from a fixed set of guest buffers, and takes back the answers into another fixed set. */
    private static final class Loop {
        private final NetTestDriver d;
        private final boolean answers;
        private final long txBase;
        private final long rxBase;
        private final int txLength;
        private final UsedBuffer used = new UsedBuffer();

        Loop(NetTestDriver d, byte[] frame, boolean answers) throws Exception {
            this.d = d;
            this.answers = answers;
            this.txLength = d.hdrSize + frame.length;
            this.txBase = d.session.ram().allocate((long) BUFFERS * 2048, 64);
            this.rxBase = d.session.ram().allocate((long) BUFFERS * 2048, 64);
            for (int i = 0; i < BUFFERS; i++) {
                MemorySegment b = d.session.ram().at(txBase + i * 2048L, 2048);
                b.fill((byte) 0);
                MemorySegment.copy(frame, 0, b, ValueLayout.JAVA_BYTE, d.hdrSize, frame.length);
                if (answers) {
                    d.rx[0].queue().post(rxBase + i * 2048L, 2048, true, i);
                }
            }
            d.rx[0].publishAndKick();
        }

        void run(int frames) throws Exception {
            int sent = 0;
            int done = 0;
            int answered = 0;
            int inFlight = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (done < frames || (answers && answered < frames)) {
                while (sent < frames && inFlight < BUFFERS / 2) {
                    int slot = sent % BUFFERS;
                    d.tx[0].queue().post(txBase + slot * 2048L, txLength, false, slot);
                    sent++;
                    inFlight++;
                }
                d.tx[0].publishAndKick();
                while (d.tx[0].queue().reap(used)) {
                    done++;
                    inFlight--;
                }
                boolean reposted = false;
                while (answers && d.rx[0].queue().reap(used)) {
                    answered++;
                    d.rx[0].queue().post(rxBase + used.token() * 2048L, 2048, true, used.token());
                    reposted = true;
                }
                if (reposted) {
                    d.rx[0].publishAndKick();
                }
                assertThat(System.nanoTime()).as("frames done %d, answered %d", done, answered).isLessThan(deadline);
            }
        }
    }
}

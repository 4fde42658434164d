package io.jvdpa.virtqueue;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.memory.Endianness;
import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The ring engine allocates nothing per chain, for every ring format, byte order and descriptor kind: the thread's
 * allocated bytes, as the JVM counts them, stay below one object per thousand chains while a hundred thousand
 * chains go round (post, pop, read the chain through, add used, publish, reap), after a warm-up that lets the JIT
 * compile. The JMH figure ({@code VirtqueueBenchmark}, gc.alloc.rate.norm) measures the same, for speed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AllocationTest {
    private static final int SIZE = 256;
    private static final int BURST = 32;
    private static final int CHAINS = 100_000;

    @ParameterizedTest(name = "{0} {1} indirect={2}")
    @CsvSource({"split, LITTLE, false", "split, BIG, false", "split, LITTLE, true", "split, BIG, true",
        "packed, LITTLE, false", "packed, BIG, false", "packed, LITTLE, true", "packed, BIG, true"})
    void aChainCostsNoAllocation(String format, Endianness order, boolean indirect) {
        VirtqueueFeatures features = new VirtqueueFeatures(SIZE, format.equals("packed"), true, indirect, order);
        try (GuestFixture g = new GuestFixture(features, false)) {
            Loop loop = new Loop(g, indirect);
            com.sun.management.ThreadMXBean threads =
                    (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long self = Thread.currentThread().threadId();
            loop.run(CHAINS);
            long before = threads.getThreadAllocatedBytes(self);
            long bytes = loop.run(CHAINS);
            long allocated = threads.getThreadAllocatedBytes(self) - before;

            assertThat(loop.device.isBroken()).as("%s", loop.device.brokenReason()).isFalse();
            assertThat(bytes).as("bytes read through the chains").isEqualTo((long) CHAINS * Loop.READABLE);
            // The smallest object is 16 bytes: one per chain, or one per burst, would exceed this bound.
            assertThat(allocated).as("bytes allocated for %d chains", CHAINS).isLessThan(CHAINS / 1000 * 16);
        }
    }

    /** One thread as driver and device: bursts of two-element buffers (readable, then writable). */
    private static final class Loop {
        static final int READABLE = 64;
        static final int WRITABLE = 1536;

        final DriverQueue driver;
        final DeviceQueue device;
        final boolean indirect;
        final long[] addrs = new long[2];
        final int[] lens = {READABLE, WRITABLE};
        final long[] buffers = new long[BURST];
        final DescriptorChain chain = new DescriptorChain();
        final UsedBuffer used = new UsedBuffer();

        Loop(GuestFixture g, boolean indirect) {
            this.driver = g.driver(RingState.initial());
            this.device = g.device(RingState.initial());
            this.indirect = indirect;
            for (int i = 0; i < BURST; i++) {
                buffers[i] = g.allocate(READABLE + WRITABLE);
            }
        }

        /** Moves {@code chains} chains through the queue; returns the readable bytes the device read. */
        long run(int chains) {
            long read = 0;
            for (int done = 0; done < chains; done += BURST) {
                for (int i = 0; i < BURST; i++) {
                    addrs[0] = buffers[i];
                    addrs[1] = buffers[i] + READABLE;
                    boolean posted = indirect ? driver.postIndirect(addrs, lens, 1, 1, i)
                            : driver.post(addrs, lens, 1, 1, i);
                    if (!posted) {
                        throw new IllegalStateException("ring full at buffer " + i);
                    }
                }
                driver.publish();
                while (device.pop(chain)) {
                    ChainReader r = chain.reader();
                    while (r.remaining() >= 8) {
                        r.readU64(Endianness.LITTLE);
                        read += 8;
                    }
                    device.addUsed(chain, 100);
                }
                device.publishUsed();
                device.needsNotification();
                while (driver.reap(used)) {
                    if (used.length() != 100) {
                        throw new IllegalStateException("used length " + used.length());
                    }
                }
            }
            return read;
        }
    }
}

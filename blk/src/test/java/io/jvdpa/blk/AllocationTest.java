package io.jvdpa.blk;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import io.jvdpa.blk.BlkDriver.Layout;
import io.jvdpa.blk.BlkRequestsTest.Kind;
import io.jvdpa.virtqueue.DescriptorChain;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The data path allocates nothing of its own per request. After warm-up, the bytes the queue's worker thread
 * allocates while the device handles kicks (pop, I/O straight into guest memory, status, inflight record, publish,
 * notification) are counted over thousands of reads and writes.
 *
 * <p>The bound is not zero only to leave room for a stray allocation by the runtime while thousands of requests run;
 * one object per request (16 bytes or more) would exceed it.
 */
class AllocationTest {
    static final int WARM_UP = 12_000;
    static final int MEASURED = 10_000;
    static final double PER_REQUEST = 0.5;
    /** The worker also drains the kick eventfd and signals the call eventfd. */
    static final double PER_REQUEST_ON_WORKER = 0.5;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"MODERN", "PACKED", "LEGACY_BE"})
    void requestsAllocateNothing(Kind kind) throws Exception {
        Path socket = dir.resolve("blk.sock");
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        DyingDevice[] device = new DyingDevice[1];
        long[] inDevice = new long[1];
        boolean[] counting = new boolean[1];
        try (BlkBackend b = new BlkBackend(socket, BlkImage.open(dir.resolve("disk.img"), 8 << 20, false),
                BlkDeviceConfig.defaults("s"), 1, d -> device[0] = new DyingDevice(d));
             BlkDriver d = new BlkDriver(socket, kind.features, kind.order, true)) {
            d.setUpRing(0);
            device[0].instead = (q, handler) -> {
                long before = threads.getCurrentThreadAllocatedBytes();
                DescriptorChain chain = handler.chain;
                while (q.pop(chain)) {
                    q.addUsed(chain, handler.handle(chain));
                }
                q.publish();
                if (counting[0]) {
                    inDevice[0] += threads.getCurrentThreadAllocatedBytes() - before;
                }
            };
            long worker = b.worker(0).call(() -> Thread.currentThread().threadId());
            byte[] data = new byte[4096];
            run(d, data, WARM_UP);
            counting[0] = true;
            long before = threads.getThreadAllocatedBytes(worker);
            run(d, data, MEASURED);
            long total = threads.getThreadAllocatedBytes(worker) - before;
            assertThat((double) inDevice[0] / MEASURED).as("bytes per request handling them (%d in all)", inDevice[0])
                    .isLessThan(PER_REQUEST);
            assertThat((double) total / MEASURED).as("bytes per request on the worker (%d in all)", total)
                    .isLessThan(PER_REQUEST_ON_WORKER);
        }
    }

    private static void run(BlkDriver d, byte[] data, int n) throws Exception {
        for (int i = 0; i < n; i += 2) {
            int w = d.post(0, VirtioBlk.T_OUT, (i % 1000) * 8L, data, 0, Layout.COMBINED);
            int r = d.post(0, VirtioBlk.T_IN, (i % 1000) * 8L, new byte[0], 4096, Layout.LEGACY_FRAMING);
            d.kick(0);
            assertThat(d.await(w).status()).isZero();
            assertThat(d.await(r).status()).isZero();
        }
    }
}

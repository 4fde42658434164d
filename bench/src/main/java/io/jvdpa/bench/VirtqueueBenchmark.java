package io.jvdpa.bench;

import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import io.jvdpa.memory.GuestMemory;
import io.jvdpa.memory.GuestRegion;
import io.jvdpa.virtqueue.DescriptorChain;
import io.jvdpa.virtqueue.DeviceQueue;
import io.jvdpa.virtqueue.DriverQueue;
import io.jvdpa.virtqueue.RingAreas;
import io.jvdpa.virtqueue.RingLayout;
import io.jvdpa.virtqueue.RingState;
import io.jvdpa.virtqueue.UsedBuffer;
import io.jvdpa.virtqueue.VirtqueueFeatures;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Chains per second through the ring engine with one-descriptor chains: the driver side posts, the device side
 * pops, returns used and publishes, the driver reaps. One operation is one chain; {@code -prof gc} shows
 * gc.alloc.rate.norm, which should be 0 B/op.
 *
 * <p>{@code burst}: 32 chains per publish and one notification decision, as a device thread works.
 * {@code single}: one chain per publish, the worst case for the ordering costs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class VirtqueueBenchmark {
    static final int BURST = 32;
    static final long DATA_GPA = 0x10_0000;

    @Param({"split", "packed"})
    public String format;

    @Param({"LITTLE", "BIG"})
    public Endianness order;

    @Param({"256"})
    public int queueSize;

    private Arena arena;
    private DriverQueue driver;
    private DeviceQueue device;
    private final DescriptorChain chain = new DescriptorChain();
    private final UsedBuffer used = new UsedBuffer();
    private long notifications;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        VirtqueueFeatures features = new VirtqueueFeatures(queueSize, format.equals("packed"), true, false, order);
        RingLayout layout = RingLayout.of(features);
        RingAreas areas = layout.areas(arena.allocate(layout.byteSize(), 4096));
        MemorySegment data = arena.allocate(1 << 20, 4096);
        GuestMemory memory = GuestMemory.of(GuestRegion.of(DATA_GPA, 0x7f00_0000_0000L, data));
        driver = DriverQueue.create(features, areas, RingState.initial());
        device = DeviceQueue.create(features, areas, memory, DirtyLog.NONE, 0, 0, RingState.initial());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (device.isBroken()) {
            throw new IllegalStateException(device.brokenReason());
        }
        arena.close();
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public long burst() {
        for (int i = 0; i < BURST; i++) {
            driver.post1(DATA_GPA + 2048L * i, 1500, true, i);
        }
        driver.publish();
        DeviceQueue d = device;
        while (d.pop(chain)) {
            d.addUsed(chain, 64);
        }
        d.publishUsed();
        if (d.needsNotification()) {
            notifications++;
        }
        long bytes = 0;
        while (driver.reap(used)) {
            bytes += used.length();
        }
        return bytes;
    }

    @Benchmark
    public long single() {
        driver.post1(DATA_GPA, 1500, false, 7);
        driver.publish();
        DeviceQueue d = device;
        d.pop(chain);
        d.addUsed(chain, 0);
        d.publishUsed();
        if (d.needsNotification()) {
            notifications++;
        }
        driver.reap(used);
        return used.id();
    }
}

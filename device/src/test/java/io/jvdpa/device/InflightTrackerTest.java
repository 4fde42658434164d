package io.jvdpa.device;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The inflight area across back-end crashes: a driver keeps posting while a device takes buffers, completes them
 * out of order and dies at random points (before a publish, between the used ring's publish and the area's
 * commit, or between publishes); a new device over the same area and ring resumes. Every buffer the driver posted
 * must come back exactly once.
 */
class InflightTrackerTest {
    private static final int SIZE = 8;
    private static final long GPA = 0x10_0000;

    /** Where the device dies. */
    enum Crash { NONE, BEFORE_PUBLISH, AFTER_RING_PUBLISH, BETWEEN_BATCHES }

    private final Arena arena = Arena.ofShared();

    static Stream<Arguments> seeds() {
        return IntStream.range(0, 40).boxed().flatMap(seed -> Stream.of(Arguments.of(false, seed), Arguments.of(true, seed)));
    }

    @ParameterizedTest(name = "packed {0}, seed {1}")
    @MethodSource("seeds")
    void everyBufferComesBackExactlyOnceAcrossCrashes(boolean packed, int seed) {
        Random random = new Random(seed);
        Rig rig = new Rig(packed);
        Device device = rig.start();
        Map<Integer, Integer> returned = new HashMap<>();
        int posted = 0;
        int total = 60;
        UsedBuffer used = new UsedBuffer();
        List<DescriptorChain> held = new ArrayList<>();
        for (int round = 0; posted < total || rig.driver.inFlight() > 0; round++) {
            assertThat(round).as("rounds; %d posted, %d back, %d in flight at the driver", posted, returned.size(),
                    rig.driver.inFlight()).isLessThan(2000);
            // The driver posts a few buffers of 1..3 descriptors.
            for (int k = random.nextInt(4); k > 0 && posted < total; k--) {
                int n = 1 + random.nextInt(3);
                if (rig.driver.freeDescriptors() < n) {
                    break;
                }
                long[] addrs = new long[n];
                int[] lens = new int[n];
                for (int i = 0; i < n; i++) {
                    addrs[i] = GPA + 0x8000 + 64L * (posted * 3 + i);
                    lens[i] = 16;
                }
                assertThat(rig.driver.post(addrs, lens, n - 1, 1, posted)).isTrue();
                posted++;
            }
            rig.driver.publish();
            // The device takes some, completes a random subset in any order, and maybe dies.
            for (int k = random.nextInt(4); k > 0; k--) {
                DescriptorChain chain = new DescriptorChain();
                if (!device.queue.pop(chain)) {
                    break;
                }
                held.add(chain);
            }
            java.util.Collections.shuffle(held, random);
            int complete = held.isEmpty() ? 0 : random.nextInt(held.size() + 1);
            for (int i = 0; i < complete; i++) {
                device.queue.addUsed(held.removeFirst(), 1);
            }
            Crash crash = Crash.values()[random.nextInt(10) < 7 ? 0 : 1 + random.nextInt(3)];
            switch (crash) {
                case NONE -> device.queue.publish();
                case BEFORE_PUBLISH -> {}
                case AFTER_RING_PUBLISH -> {
                    device.queue.inflight.prePublish();
                    device.queue.ring().publishUsed();
                }
                case BETWEEN_BATCHES -> device.queue.publish();
            }
            if (crash != Crash.NONE) {
                held.clear();
                device = rig.start();
            }
            while (rig.driver.reap(used)) {
                returned.merge(used.token(), 1, Integer::sum);
            }
            assertThat(device.queue.ring().isBroken()).as("%s", device.queue.ring().brokenReason()).isFalse();
        }
        assertThat(returned).hasSize(total);
        assertThat(returned.values()).allMatch(c -> c == 1);
    }

    @Test
    void resubmissionFollowsTheOrderBuffersWereFirstTaken() {
        for (boolean packed : new boolean[] {false, true}) {
            Rig rig = new Rig(packed);
            Device device = rig.start();
            for (int t = 0; t < 5; t++) {
                assertThat(rig.driver.post(new long[] {GPA + 0x8000 + 64L * t}, new int[] {16}, 0, 1, t)).isTrue();
            }
            rig.driver.publish();
            List<DescriptorChain> chains = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                DescriptorChain c = new DescriptorChain();
                assertThat(device.queue.pop(c)).isTrue();
                chains.add(c);
            }
            device.queue.addUsed(chains.get(2), 1);
            device.queue.addUsed(chains.get(0), 1);
            device.queue.publish();
            device = rig.start();
            assertThat(device.queue.pendingResubmissions()).isEqualTo(2);
            List<Integer> order = new ArrayList<>();
            DescriptorChain c = new DescriptorChain();
            while (device.queue.pop(c)) {
                order.add(rig.tokenOf(c));
                device.queue.addUsed(c, 1);
            }
            device.queue.publish();
            assertThat(order).as(packed ? "packed" : "split").containsExactly(1, 3, 4);
        }
    }

    /** Guest memory with one ring, the driver's side of it, and the inflight area that survives device restarts. */
    private final class Rig {
        final boolean packed;
        final MemorySegment ram = arena.allocate(1 << 20, 4096);
        final GuestMemory memory = GuestMemory.of(GuestRegion.of(GPA, 0x7f00_0000_0000L, ram));
        final VirtqueueFeatures features;
        final RingAreas areas;
        final DriverQueue driver;
        final MemorySegment area;
        final Map<Long, Integer> tokens = new HashMap<>();

        Rig(boolean packed) {
            this.packed = packed;
            features = packed ? VirtqueueFeatures.packed(SIZE, Endianness.LITTLE) : VirtqueueFeatures.split(SIZE, Endianness.LITTLE);
            RingLayout layout = packed ? RingLayout.packed(SIZE) : RingLayout.split(SIZE);
            areas = layout.areas(ram.asSlice(0, layout.byteSize()));
            driver = DriverQueue.create(features, areas, RingState.initial());
            area = arena.allocate(InflightLayout.queueRegionSize(SIZE, packed), 64);
        }

        /** A device (re)starting as after a reconnect: the front-end's base is stale, the area tells the truth. */
        Device start() {
            RingState base = packed ? RingState.fromVhostUser(0x8000, true) : RingState.fromVhostUser(usedIdx(), false);
            DeviceQueue ring = DeviceQueue.create(features, areas, memory, DirtyLog.NONE, GPA, GPA, base);
            InflightTracker tracker = packed ? new PackedInflight(area, SIZE, "test", areas.descriptors())
                    : new SplitInflight(area, SIZE, "test");
            RingState resumed = tracker.recover(ring.state());
            if (!resumed.equals(ring.state())) {
                ring = DeviceQueue.create(features, areas, memory, DirtyLog.NONE, GPA, GPA, resumed);
            }
            Queue q = new Queue(0);
            q.ring = ring;
            q.inflight = tracker;
            return new Device(q);
        }

        /** What QEMU restores a split ring's base to when the back-end died: the used ring's idx. */
        private int usedIdx() {
            return Endianness.LITTLE.u16(areas.deviceArea(), 2);
        }

        int tokenOf(DescriptorChain c) {
            return (int) ((c.segmentAddress(0) - GPA - 0x8000) / 64);
        }
    }

    private record Device(Queue queue) {}
}

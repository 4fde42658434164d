package io.jvdpa.virtqueue;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.memory.Endianness;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Notification suppression both ways, for split and packed rings with and without EVENT_IDX: the device
 * notifies exactly when the driver asked (used_event, NO_INTERRUPT, packed driver event suppression), the
 * driver kicks exactly when the device asked (avail_event, NO_NOTIFY, packed device event suppression), and
 * re-enabling reports work that arrived meanwhile. A burst of used buffers reaches the driver at one publish and
 * costs one notification.
 */
class NotificationTest {

    static Stream<Arguments> formats() {
        return Stream.of(true, false).flatMap(packed -> Stream.of(true, false).flatMap(eventIdx -> Stream.of(
                Arguments.of(packed, eventIdx, Endianness.LITTLE), Arguments.of(packed, eventIdx, Endianness.BIG))));
    }

    private static final class Pair implements AutoCloseable {
        final GuestFixture g;
        final DriverQueue driver;
        final DeviceQueue device;
        final DescriptorChain chain = new DescriptorChain();
        final UsedBuffer used = new UsedBuffer();
        int token;

        Pair(boolean packed, boolean eventIdx, Endianness order, int size, RingState start) {
            g = new GuestFixture(new VirtqueueFeatures(size, packed, eventIdx, false, order), false);
            driver = g.driver(start);
            device = g.device(start);
        }

        void post() {
            assertThat(driver.post1(g.dataStart + 256L * (token % 16), 64, true, token++)).isTrue();
            driver.publish();
        }

        /** Device takes one buffer and publishes it used. */
        void complete() {
            assertThat(device.pop(chain)).isTrue();
            device.addUsed(chain, 8);
            device.publishUsed();
        }

        void reapAll() {
            while (driver.reap(used)) {
                assertThat(used.length()).isEqualTo(8);
            }
        }

        @Override
        public void close() {
            g.close();
        }
    }

    @ParameterizedTest(name = "packed={0} eventIdx={1} {2}")
    @MethodSource("formats")
    void deviceNotifiesOnlyWhenTheDriverAsks(boolean packed, boolean eventIdx, Endianness order) {
        try (Pair p = new Pair(packed, eventIdx, order, 8, RingState.initial())) {
            p.driver.enableInterrupts();
            p.post();
            p.complete();
            assertThat(p.device.needsNotification()).as("first used buffer with interrupts enabled").isTrue();
            p.reapAll();

            p.driver.disableInterrupts();
            p.post();
            p.complete();
            assertThat(p.device.needsNotification()).as("driver disabled interrupts").isFalse();
            assertThat(p.driver.enableInterrupts()).as("a used buffer is waiting").isTrue();
            p.reapAll();
            assertThat(p.driver.enableInterrupts()).as("nothing is waiting").isFalse();

            p.post();
            p.complete();
            assertThat(p.device.needsNotification()).as("driver re-enabled interrupts").isTrue();
            assertThat(p.device.needsNotification()).as("nothing published since").isFalse();

            p.post();
            p.complete();
            // With EVENT_IDX the driver asked about one used entry and has not reaped it: no second interrupt.
            assertThat(p.device.needsNotification()).isEqualTo(!eventIdx);
            assertThat(p.device.counters().notificationsSuppressed()).isEqualTo(eventIdx ? 2 : 1);
        }
    }

    @ParameterizedTest(name = "packed={0} eventIdx={1} {2}")
    @MethodSource("formats")
    void driverKicksOnlyWhenTheDeviceAsks(boolean packed, boolean eventIdx, Endianness order) {
        try (Pair p = new Pair(packed, eventIdx, order, 8, RingState.initial())) {
            assertThat(p.device.enableNotifications()).as("nothing available yet").isFalse();
            p.post();
            assertThat(p.driver.needsKick()).as("device asked for kicks").isTrue();
            assertThat(p.driver.needsKick()).as("nothing posted since").isFalse();

            p.post();
            // With EVENT_IDX the device asked about the first buffer only and has not taken it yet.
            assertThat(p.driver.needsKick()).isEqualTo(!eventIdx);

            p.device.disableNotifications();
            p.complete();
            p.complete();
            // Without EVENT_IDX, NO_NOTIFY / DISABLE stops kicks; with it, avail_event stops moving while the
            // device polls, and the driver's index has already passed it.
            p.post();
            assertThat(p.driver.needsKick()).as("device disabled kicks").isFalse();
            p.post();
            assertThat(p.driver.needsKick()).as("device disabled kicks").isFalse();

            assertThat(p.device.enableNotifications()).as("buffers arrived while kicks were off").isTrue();
            p.complete();
            p.complete();
            assertThat(p.device.enableNotifications()).as("ring drained").isFalse();
            p.post();
            assertThat(p.driver.needsKick()).as("device re-enabled kicks").isTrue();
        }
    }

    @ParameterizedTest(name = "packed={0} eventIdx={1} {2}")
    @MethodSource("formats")
    void aBurstIsPublishedAtOnceAndNotifiedOnce(boolean packed, boolean eventIdx, Endianness order) {
        int burst = 5;
        int bursts = 3;
        // Starting just short of the split index wrap / the packed ring's end, so bursts straddle it.
        RingState start = packed ? RingState.packed(6, true, 6, true) : RingState.split(0xFFFE, 0xFFFE);
        try (Pair p = new Pair(packed, eventIdx, order, 8, start)) {
            int[] ids = new int[burst];
            int[] counts = new int[burst];
            for (int b = 0; b < bursts; b++) {
                p.driver.enableInterrupts();
                for (int i = 0; i < burst; i++) {
                    p.post();
                }
                for (int i = 0; i < burst; i++) {
                    assertThat(p.device.pop(p.chain)).isTrue();
                    ids[i] = p.chain.headId();
                    counts[i] = p.chain.descriptorCount();
                }
                RingState before = p.device.state();
                int usedIdx = order.u16(p.g.areas.deviceArea(), SplitRing.USED_IDX);
                // Completed in reverse, and each addition checked: nothing shows before publishUsed.
                for (int i = burst - 1; i >= 0; i--) {
                    p.device.addUsed(ids[i], counts[i], 8);
                    assertThat(p.driver.reap(p.used)).as("burst %d: used entry visible before publishUsed", b).isFalse();
                    if (packed) {
                        int flags = order.u16(p.g.areas.descriptors(), (long) Desc.SIZE * before.nextUsed() + Desc.PACKED_FLAGS);
                        assertThat(PackedRing.isUsed(flags, before.usedWrap())).as("first used descriptor's flags").isFalse();
                    } else {
                        assertThat(order.u16(p.g.areas.deviceArea(), SplitRing.USED_IDX)).as("used idx").isEqualTo(usedIdx);
                    }
                    assertThat(p.device.needsNotification()).as("notification before publishUsed").isFalse();
                }

                p.device.publishUsed();
                assertThat(p.device.needsNotification()).as("burst %d", b).isTrue();
                assertThat(p.device.needsNotification()).as("burst %d: a second notification", b).isFalse();
                for (int i = 0; i < burst; i++) {
                    assertThat(p.driver.reap(p.used)).as("burst %d: entry %d after publishUsed", b, i).isTrue();
                }
                assertThat(p.driver.reap(p.used)).isFalse();
                assertThat(p.driver.state()).isEqualTo(p.device.state());
            }
            assertThat(p.device.counters().notifications()).isEqualTo(bursts);
            assertThat(p.device.counters().notificationsSuppressed()).isZero();
            assertThat(p.device.counters().usedChains()).isEqualTo((long) burst * bursts);
        }
    }

    @ParameterizedTest(name = "packed={0} eventIdx={1} {2}")
    @MethodSource("formats")
    void eventsStayExactAcrossIndexAndRingWrap(boolean packed, boolean eventIdx, Endianness order) {
        int size = packed ? 3 : 4;
        RingState start = packed ? RingState.packed(2, true, 2, true) : RingState.split(0xFFF9, 0xFFF9);
        try (Pair p = new Pair(packed, eventIdx, order, size, start)) {
            for (int i = 0; i < 40; i++) {
                assertThat(p.device.enableNotifications()).isFalse();
                p.driver.enableInterrupts();
                p.post();
                assertThat(p.driver.needsKick()).as("kick %d", i).isTrue();
                p.complete();
                assertThat(p.device.needsNotification()).as("interrupt %d", i).isTrue();
                p.reapAll();
            }
            assertThat(p.device.counters().notifications()).isEqualTo(40);
        }
    }
}

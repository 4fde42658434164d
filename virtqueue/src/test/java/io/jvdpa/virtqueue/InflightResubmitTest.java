package io.jvdpa.virtqueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.memory.Endianness;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** Taking in-flight buffers again after a reconnect: by head index (split) and from saved descriptors (packed). */
class InflightResubmitTest {

    @Test
    void aSplitChainIsTakenAgainFromItsHeadAndCanBeReturned() {
        for (Endianness order : Endianness.values()) {
            try (GuestFixture g = new GuestFixture(VirtqueueFeatures.split(8, order), false)) {
                DriverQueue driver = g.driver(RingState.initial());
                DeviceQueue first = g.device(RingState.initial());
                long r = g.allocate(16);
                long w = g.allocate(64);
                driver.post(new long[] {r, w}, new int[] {16, 64}, 1, 1, 42);
                driver.publish();
                DescriptorChain chain = new DescriptorChain();
                assertThat(first.pop(chain)).isTrue();
                int head = chain.headId();

                // A new device instance resumes after the popped buffer and takes it again by its head.
                DeviceQueue second = g.device(RingState.split(1, 0));
                DescriptorChain again = new DescriptorChain();
                assertThat(second.chainAt(head, again)).isTrue();
                assertThat(again.headId()).isEqualTo(head);
                assertThat(again.readableBytes()).isEqualTo(16);
                assertThat(again.writableBytes()).isEqualTo(64);
                assertThat(second.inFlight()).isEqualTo(1);
                assertThat(second.pop(new DescriptorChain())).as("nothing new is available").isFalse();
                second.addUsed(again, 5);
                second.publishUsed();
                UsedBuffer used = new UsedBuffer();
                assertThat(driver.reap(used)).isTrue();
                assertThat(used.token()).isEqualTo(42);
                assertThat(used.length()).isEqualTo(5);
                assertThat(second.isBroken()).isFalse();
            }
        }
    }

    @Test
    void aSplitHeadOutsideTheQueueBreaksIt() {
        try (GuestFixture g = new GuestFixture(VirtqueueFeatures.split(8, Endianness.LITTLE), false)) {
            DeviceQueue device = g.device(RingState.initial());
            assertThat(device.chainAt(8, new DescriptorChain())).isFalse();
            assertThat(device.isBroken()).isTrue();
            assertThat(device.brokenReason()).contains("outside the queue");
        }
    }

    @Test
    void aPackedChainIsTakenAgainFromSavedDescriptors() {
        try (GuestFixture g = new GuestFixture(VirtqueueFeatures.packed(8, Endianness.LITTLE), false);
             Arena arena = Arena.ofConfined()) {
            long r = g.allocate(16);
            long w = g.allocate(64);
            MemorySegment saved = arena.allocate(2 * Desc.SIZE, 8);
            GuestFixture.packedDesc(saved, Endianness.LITTLE, 0, r, 16, 0, Desc.F_NEXT);
            GuestFixture.packedDesc(saved, Endianness.LITTLE, 1, w, 64, 7, Desc.F_WRITE);
            DeviceQueue device = g.device(RingState.initial());
            DescriptorChain chain = new DescriptorChain();
            assertThat(device.chainFrom(saved, 2, chain)).isTrue();
            assertThat(chain.headId()).as("the buffer id is the last descriptor's").isEqualTo(7);
            assertThat(chain.descriptorCount()).isEqualTo(2);
            assertThat(chain.readableBytes()).isEqualTo(16);
            assertThat(chain.writableBytes()).isEqualTo(64);
            assertThat(device.inFlight()).isEqualTo(1);
            device.addUsed(chain, 3);
            device.publishUsed();
            assertThat(device.isBroken()).isFalse();
            assertThat(device.state().nextUsed()).isEqualTo(2);
        }
    }

    @Test
    void aSavedPackedListWhoseNextFlagsDisagreeWithItsLengthBreaksTheQueue() {
        try (GuestFixture g = new GuestFixture(VirtqueueFeatures.packed(8, Endianness.LITTLE), false);
             Arena arena = Arena.ofConfined()) {
            MemorySegment saved = arena.allocate(2 * Desc.SIZE, 8);
            long r = g.allocate(16);
            GuestFixture.packedDesc(saved, Endianness.LITTLE, 0, r, 16, 0, 0);
            GuestFixture.packedDesc(saved, Endianness.LITTLE, 1, r, 16, 1, 0);
            DeviceQueue device = g.device(RingState.initial());
            assertThat(device.chainFrom(saved, 2, new DescriptorChain())).isFalse();
            assertThat(device.brokenReason()).contains("NEXT flag");
        }
    }

    @Test
    void aSavedPackedListWithABufferIdOutsideTheQueueBreaksIt() {
        for (Endianness order : Endianness.values()) {
            try (GuestFixture g = new GuestFixture(VirtqueueFeatures.packed(8, order), false);
                 Arena arena = Arena.ofConfined()) {
                MemorySegment saved = arena.allocate(Desc.SIZE, 8);
                GuestFixture.packedDesc(saved, order, 0, g.allocate(16), 16, 8, Desc.F_WRITE);
                DeviceQueue device = g.device(RingState.initial());
                assertThat(device.chainFrom(saved, 1, new DescriptorChain())).isFalse();
                assertThat(device.brokenReason()).contains("Buffer ID 8, queue size is 8");
                assertThat(device.inFlight()).isZero();
            }
        }
    }

    @Test
    void eachFormatRefusesTheOthersWay() {
        try (GuestFixture split = new GuestFixture(VirtqueueFeatures.split(8, Endianness.LITTLE), false);
             GuestFixture packed = new GuestFixture(VirtqueueFeatures.packed(8, Endianness.LITTLE), false)) {
            assertThatThrownBy(() -> split.device(RingState.initial()).chainFrom(MemorySegment.NULL, 1, new DescriptorChain()))
                    .isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> packed.device(RingState.initial()).chainAt(0, new DescriptorChain()))
                    .isInstanceOf(IllegalStateException.class);
        }
    }
}

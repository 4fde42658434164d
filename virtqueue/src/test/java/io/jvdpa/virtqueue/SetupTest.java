package io.jvdpa.virtqueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import io.jvdpa.memory.GuestMemory;
import io.jvdpa.memory.GuestRegion;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What a front-end can get wrong when it sets a queue up is refused at once, with a message that says what. */
class SetupTest {

    @Test
    void queueSizesFollowTheSpec() {
        assertThatThrownBy(() -> VirtqueueFeatures.split(0, Endianness.LITTLE)).hasMessageContaining("outside 1..32768");
        assertThatThrownBy(() -> VirtqueueFeatures.split(65536, Endianness.LITTLE)).hasMessageContaining("outside 1..32768");
        assertThatThrownBy(() -> VirtqueueFeatures.split(6, Endianness.LITTLE)).hasMessageContaining("not a power of two");
        assertThat(VirtqueueFeatures.packed(6, Endianness.LITTLE).queueSize()).isEqualTo(6);
        assertThat(VirtqueueFeatures.split(32768, Endianness.BIG).queueSize()).isEqualTo(32768);
    }

    @Test
    void featureBitsChooseFormatAndByteOrder() {
        long modern = 1L << VirtqueueFeatures.VIRTIO_F_VERSION_1 | 1L << VirtqueueFeatures.VIRTIO_F_RING_PACKED
                | 1L << VirtqueueFeatures.VIRTIO_F_EVENT_IDX;
        VirtqueueFeatures m = VirtqueueFeatures.fromFeatureBits(modern, 256, Endianness.BIG);
        assertThat(m).isEqualTo(new VirtqueueFeatures(256, true, true, false, Endianness.LITTLE));
        long legacy = 1L << VirtqueueFeatures.VIRTIO_F_INDIRECT_DESC;
        VirtqueueFeatures l = VirtqueueFeatures.fromFeatureBits(legacy, 256, Endianness.BIG);
        assertThat(l).isEqualTo(new VirtqueueFeatures(256, false, false, true, Endianness.BIG));
    }

    @Test
    void misalignedOrShortAreasAreRefused() {
        VirtqueueFeatures f = VirtqueueFeatures.split(16, Endianness.LITTLE);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(8192, 4096);
            MemorySegment desc = block.asSlice(0, 256);
            MemorySegment avail = block.asSlice(1024, 38);
            MemorySegment used = block.asSlice(2048, 134);
            GuestMemory mem = GuestMemory.of(GuestRegion.of(0, 0, arena.allocate(4096)));
            assertThat(new SplitDeviceQueue(f, desc, avail, used, mem, DirtyLog.NONE, 0, RingState.initial()))
                    .isNotNull();
            assertThatThrownBy(() -> new SplitDeviceQueue(f, block.asSlice(8, 256), avail, used, mem, DirtyLog.NONE, 0,
                    RingState.initial())).hasMessageContaining("descriptor table").hasMessageContaining("not 16-byte aligned");
            assertThatThrownBy(() -> new SplitDeviceQueue(f, desc, block.asSlice(1025, 38), used, mem, DirtyLog.NONE, 0,
                    RingState.initial())).hasMessageContaining("available ring").hasMessageContaining("2-byte aligned");
            assertThatThrownBy(() -> new SplitDeviceQueue(f, desc, avail, block.asSlice(2050, 134), mem, DirtyLog.NONE, 0,
                    RingState.initial())).hasMessageContaining("used ring").hasMessageContaining("4-byte aligned");
            assertThatThrownBy(() -> new SplitDeviceQueue(f, desc, avail, block.asSlice(2048, 133), mem, DirtyLog.NONE, 0,
                    RingState.initial())).hasMessageContaining("used ring is 133 bytes, the queue needs 134");
            assertThatThrownBy(() -> new SplitDeviceQueue(f, MemorySegment.ofArray(new byte[256]), avail, used, mem,
                    DirtyLog.NONE, 0, RingState.initial())).hasMessageContaining("not in native memory");

            VirtqueueFeatures p = VirtqueueFeatures.packed(16, Endianness.LITTLE);
            assertThatThrownBy(() -> new PackedDeviceQueue(p, desc, block.asSlice(1026, 4), used, mem, DirtyLog.NONE,
                    0, 0, RingState.initial())).hasMessageContaining("driver event suppression").hasMessageContaining("4-byte");
            assertThatThrownBy(() -> new PackedDeviceQueue(p, desc, avail, used, mem, DirtyLog.NONE, 0, 0,
                    RingState.packed(16, true, 0, true))).hasMessageContaining("outside the ring");
            assertThatThrownBy(() -> new SplitDeviceQueue(p, desc, avail, used, mem, DirtyLog.NONE, 0,
                    RingState.initial())).hasMessageContaining("packed ring, not a split one");
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void theLargestQueueWorks(boolean packed) {
        VirtqueueFeatures f = new VirtqueueFeatures(32768, packed, true, false, Endianness.BIG);
        try (Arena arena = Arena.ofConfined()) {
            RingLayout layout = packed ? RingLayout.packed(32768) : RingLayout.legacy(32768);
            RingAreas areas = layout.areas(arena.allocate(layout.byteSize(), 4096));
            MemorySegment data = arena.allocate(1 << 16, 4096);
            GuestMemory mem = GuestMemory.of(GuestRegion.of(0x100000, 0, data));
            RingState start = packed ? RingState.packed(32767, true, 32767, true) : RingState.split(0xFFFF, 0xFFFF);
            DriverQueue driver = DriverQueue.create(f, areas, start);
            DeviceQueue device = DeviceQueue.create(f, areas, mem, DirtyLog.NONE, 0, 0, start);
            DescriptorChain chain = new DescriptorChain();
            UsedBuffer used = new UsedBuffer();
            for (int i = 0; i < 3; i++) {
                assertThat(driver.post1(0x100000 + 64L * i, 64, false, i)).isTrue();
            }
            driver.publish();
            for (int i = 0; i < 3; i++) {
                assertThat(device.pop(chain)).isTrue();
                device.addUsed(chain, 0);
            }
            device.publishUsed();
            for (int i = 0; i < 3; i++) {
                assertThat(driver.reap(used)).isTrue();
                assertThat(used.token()).isEqualTo(i);
            }
            assertThat(device.isBroken()).isFalse();
        }
    }

    @Test
    void legacyLayoutIsTheSpecsContiguousBlock() {
        for (int q : new int[] {1, 2, 64, 128, 256, 1024, 32768}) {
            RingLayout l = RingLayout.legacy(q);
            // virtq_size() of VIRTIO 1.2 §2.7.2 with Queue Align 4096, computed independently.
            long first = align(16L * q + 2L * (3 + q));
            long second = align(2L * 3 + 8L * q);
            assertThat(l.descOffset()).isZero();
            assertThat(l.driverOffset()).isEqualTo(16L * q);
            assertThat(l.deviceOffset()).isEqualTo(first);
            assertThat(l.byteSize()).isEqualTo(first + second);
        }
        assertThat(RingLayout.legacy(256).deviceOffset()).isEqualTo(8192);
        assertThat(RingLayout.legacy(256).byteSize()).isEqualTo(12288);
    }

    private static long align(long x) {
        return (x + 4095) & ~4095L;
    }
}

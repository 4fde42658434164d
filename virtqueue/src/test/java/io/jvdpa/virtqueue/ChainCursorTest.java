package io.jvdpa.virtqueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import java.nio.BufferOverflowException;
import java.nio.BufferUnderflowException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Reading and writing a chain across segment and region boundaries, and what the dirty log records. */
class ChainCursorTest {

    @Test
    void aDescriptorCrossingARegionBoundaryBecomesTwoSegments() {
        try (GuestFixture g = new GuestFixture(VirtqueueFeatures.split(8, Endianness.LITTLE), false)) {
            DriverQueue driver = g.driver(RingState.initial());
            DeviceQueue device = g.device(RingState.initial());
            assertThat(driver.post1(GuestFixture.GPA_B - 10, 30, false, 0)).isTrue();
            driver.publish();
            DescriptorChain chain = new DescriptorChain();
            assertThat(device.pop(chain)).isTrue();
            assertThat(chain.segmentCount()).isEqualTo(2);
            assertThat(chain.segmentAddress(0)).isEqualTo(GuestFixture.GPA_B - 10);
            assertThat(chain.segmentLength(0)).isEqualTo(10);
            assertThat(chain.segmentBase(0)).isSameAs(g.a);
            assertThat(chain.segmentOffset(0)).isEqualTo(GuestFixture.SIZE_A - 10);
            assertThat(chain.segmentAddress(1)).isEqualTo(GuestFixture.GPA_B);
            assertThat(chain.segmentLength(1)).isEqualTo(20);
            assertThat(chain.segmentBase(1)).isSameAs(g.b);
            assertThat(chain.segmentOffset(1)).isZero();
            assertThat(chain.readableBytes()).isEqualTo(30);
        }
    }

    @Test
    void valuesSplitAcrossSegmentsReadAndWriteInEitherOrder() {
        try (GuestFixture g = new GuestFixture(VirtqueueFeatures.split(8, Endianness.LITTLE), false)) {
            DriverQueue driver = g.driver(RingState.initial());
            DeviceQueue device = g.device(RingState.initial());
            long r0 = g.allocate(3);
            long r1 = g.allocate(1);
            long r2 = g.allocate(12);
            // A big-endian u64 spread over 3+1+4 bytes, a little-endian u32, a big-endian u16, two single bytes.
            g.write(r0, HexFormat.of().parseHex("010203"));
            g.write(r1, HexFormat.of().parseHex("04"));
            g.write(r2, HexFormat.of().parseHex("05060708d4c3b2a18877aabb"));
            long w0 = g.allocate(5);
            long w1 = g.allocate(7);
            driver.post(new long[] {r0, r1, r2, w0, w1}, new int[] {3, 1, 12, 5, 7}, 3, 2, 9);
            driver.publish();
            DescriptorChain chain = new DescriptorChain();
            assertThat(device.pop(chain)).isTrue();
            assertThat(chain.readableSegments()).isEqualTo(3);
            assertThat(chain.writableSegments()).isEqualTo(2);

            ChainReader r = chain.reader();
            assertThat(r.readU64(Endianness.BIG)).isEqualTo(0x0102030405060708L);
            assertThat(r.readU32(Endianness.LITTLE)).isEqualTo(0xA1B2C3D4L);
            assertThat(r.readU16(Endianness.BIG)).isEqualTo(0x8877);
            assertThat(r.remaining()).isEqualTo(2);
            assertThatThrownBy(() -> r.readU32(Endianness.LITTLE)).isInstanceOf(BufferUnderflowException.class);
            assertThat(r.readU8()).isEqualTo(0xAA);
            r.rewind();
            r.skip(15);
            assertThat(r.readU8()).isEqualTo(0xBB);

            ChainWriter w = chain.writer();
            w.writeU32(0x11223344L, Endianness.BIG);
            w.writeU64(0x8877665544332211L, Endianness.LITTLE);
            assertThatThrownBy(() -> w.writeU8(0)).isInstanceOf(BufferOverflowException.class);
            assertThat(w.bytesWritten()).isEqualTo(12);
            assertThat(HexFormat.of().formatHex(g.read(w0, 5))).isEqualTo("1122334411");
            assertThat(HexFormat.of().formatHex(g.read(w1, 7))).isEqualTo("22334455667788");
        }
    }

    record Mark(long gpa, long len) {}

    /** A dirty log that keeps every range marked, in order. */
    private static final class RecordingLog implements DirtyLog {
        final List<Mark> marks = new ArrayList<>();

        @Override
        public void mark(long gpa, long len) {
            marks.add(new Mark(gpa, len));
        }

        @Override
        public boolean enabled() {
            return true;
        }
    }

    @Test
    void everyWrittenByteAndTheUsedRingAreLoggedWhileMigrating() {
        RecordingLog log = new RecordingLog();
        List<Mark> marks = log.marks;
        VirtqueueFeatures f = VirtqueueFeatures.split(8, Endianness.BIG);
        try (GuestFixture g = new GuestFixture(f, true)) {
            DriverQueue driver = g.driver(RingState.initial());
            DeviceQueue device = g.device(RingState.initial(), log);
            long buf = GuestFixture.GPA_B - 6;
            driver.post1(buf, 16, true, 1);
            driver.publish();
            DescriptorChain chain = new DescriptorChain();
            assertThat(device.pop(chain)).isTrue();
            chain.writer().write(new byte[10], 0, 10);
            device.addUsed(chain);
            device.publishUsed();
            long usedRing = g.ringGpa + g.layout.deviceOffset();
            assertThat(marks).contains(new Mark(buf, 6), new Mark(GuestFixture.GPA_B, 4),
                    new Mark(usedRing + SplitRing.USED_RING, SplitRing.USED_ELEM_SIZE),
                    new Mark(usedRing + SplitRing.USED_IDX, 2));
            // Reading is never logged.
            assertThat(marks).noneMatch(m -> m.gpa() == buf && m.len() == 16);
        }
    }

    @Test
    void aPackedRingLogsItsUsedDescriptorsAndItsDeviceEventArea() {
        RecordingLog log = new RecordingLog();
        List<Mark> marks = log.marks;
        VirtqueueFeatures f = VirtqueueFeatures.packed(8, Endianness.LITTLE).withEventIdx(true);
        try (GuestFixture g = new GuestFixture(f, false)) {
            DriverQueue driver = g.driver(RingState.initial());
            DeviceQueue device = g.device(RingState.initial(), log);
            long buf = g.allocate(16);
            driver.post1(buf, 16, true, 1);
            driver.publish();
            DescriptorChain chain = new DescriptorChain();
            device.disableNotifications();
            assertThat(device.pop(chain)).isTrue();
            chain.writer().write(new byte[10], 0, 10);
            device.addUsed(chain);
            device.publishUsed();
            device.enableNotifications();
            long descRing = g.ringGpa + g.layout.descOffset();
            long deviceEvent = g.ringGpa + g.layout.deviceOffset();
            assertThat(marks).contains(new Mark(buf, 10), new Mark(descRing, Desc.SIZE),
                    new Mark(deviceEvent + PackedRing.EVENT_FLAGS, 2), new Mark(deviceEvent + PackedRing.EVENT_OFF_WRAP, 2));
        }
    }

    @Test
    void aBufferPoppedBeforeLoggingStartedIsLoggedWhenWrittenAfter() {
        for (VirtqueueFeatures f : List.of(VirtqueueFeatures.split(8, Endianness.LITTLE),
                VirtqueueFeatures.packed(8, Endianness.BIG))) {
            RecordingLog log = new RecordingLog();
            List<Mark> marks = log.marks;
            try (GuestFixture g = new GuestFixture(f, false)) {
                DriverQueue driver = g.driver(RingState.initial());
                DeviceQueue device = g.device(RingState.initial());
                long waiting = g.allocate(16);
                long later = g.allocate(16);
                driver.post1(waiting, 16, true, 1);
                driver.post1(later, 16, true, 2);
                driver.publish();
                DescriptorChain held = new DescriptorChain();
                assertThat(device.pop(held)).isTrue();
                held.writer().write(new byte[2], 0, 2);
                assertThat(marks).isEmpty();

                // Migration starts while the first buffer waits for the rest of a frame.
                device.setDirtyLog(log);
                held.writer().write(new byte[3], 0, 3);
                DescriptorChain next = new DescriptorChain();
                assertThat(device.pop(next)).isTrue();
                next.writer().write(new byte[4], 0, 4);
                assertThat(marks).as(f.toString()).containsExactly(new Mark(waiting + 2, 3), new Mark(later, 4));

                // And a buffer written after logging stopped is not logged.
                marks.clear();
                device.setDirtyLog(DirtyLog.NONE);
                next.writer().write(new byte[4], 0, 4);
                assertThat(marks).isEmpty();
            }
        }
    }
}

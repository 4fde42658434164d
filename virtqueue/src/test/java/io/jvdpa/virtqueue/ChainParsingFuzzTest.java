package io.jvdpa.virtqueue;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import io.jvdpa.memory.GuestMemory;
import io.jvdpa.memory.GuestRegion;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * Chain parsing on ring memory the fuzzer writes: descriptor tables, available rings, indirect tables, wrap
 * counters and start indices are all hostile. Whatever the bytes, pop, the cursors, addUsed, publish and the
 * notification calls throw nothing, every segment handed out lies inside a guest memory region, and a queue
 * that breaks names a spec rule (an "unexpected failure" would be a bug of ours).
 *
 * <p>{@code mvn test} replays the saved inputs under src/test/resources; the suite's fuzz-chain-parsing run
 * fuzzes for {@code jvdpa.fuzz.duration} (60 s); pass {@code -Djvdpa.fuzz.duration=30m} for longer.
 */
class ChainParsingFuzzTest {
    static final long GPA_A = 0x1000;
    static final int SIZE_A = 0x4000;
    static final long GPA_B = GPA_A + SIZE_A;
    static final int SIZE_B = 0x1000;
    static final long GPA_C = 0x10_0000;
    static final int SIZE_C = 0x1000;
    /** Where region A keeps tables the fuzzer may point indirect descriptors at. */
    static final long TABLES = GPA_A + 0x2000;

    private static final int[] SPLIT_SIZES = {1, 2, 4, 8, 16};

    @FuzzTest(maxDuration = "60s")
    void parseChains(FuzzedDataProvider data) {
        boolean packed = data.consumeBoolean();
        Endianness order = data.consumeBoolean() ? Endianness.BIG : Endianness.LITTLE;
        int size = packed ? data.consumeInt(1, 16) : SPLIT_SIZES[data.consumeInt(0, SPLIT_SIZES.length - 1)];
        VirtqueueFeatures features = new VirtqueueFeatures(size, packed, data.consumeBoolean(), data.consumeBoolean(),
                order);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(SIZE_A, 4096);
            MemorySegment b = arena.allocate(SIZE_B, 4096);
            MemorySegment c = arena.allocate(SIZE_C, 4096);
            GuestMemory memory = GuestMemory.of(GuestRegion.of(GPA_A, 0, a), GuestRegion.of(GPA_B, SIZE_A, b),
                    GuestRegion.of(GPA_C, 0x10_0000, c));
            Set<MemorySegment> regions = Set.of(a, b, c);
            // The rings live in guest memory too, so buffers and tables may alias them.
            RingLayout layout = RingLayout.of(features);
            RingAreas areas = layout.areas(a.asSlice(0, layout.byteSize()));

            writeDescriptors(data, areas.descriptors(), order, size, packed);
            writeDescriptors(data, a.asSlice(TABLES - GPA_A, 0x800), order, 0x80, packed);
            if (packed) {
                order.putU16(areas.driverArea(), 0, data.consumeInt(0, 0xFFFF));
                order.putU16(areas.driverArea(), 2, data.consumeInt(0, 0xFFFF));
            } else {
                MemorySegment avail = areas.driverArea();
                for (int i = 0; i < size + 3; i++) {
                    order.putU16(avail, 2L * i, data.consumeBoolean() ? data.consumeInt(0, size) : data.consumeInt(0, 0xFFFF));
                }
            }
            RingState start = packed
                    ? RingState.packed(data.consumeInt(0, size - 1), data.consumeBoolean(), data.consumeInt(0, size - 1),
                            data.consumeBoolean())
                    : RingState.split(data.consumeInt(0, 0xFFFF), data.consumeInt(0, 0xFFFF));
            if (!packed) {
                // Put avail idx near the start index most of the time, so chains get parsed.
                int idx = data.consumeBoolean() ? (start.nextAvail() + data.consumeInt(0, size + 2)) & 0xFFFF
                        : data.consumeInt(0, 0xFFFF);
                order.putU16(areas.driverArea(), SplitRing.AVAIL_IDX, idx);
            }

            DeviceQueue queue = DeviceQueue.create(features, areas, memory, DirtyLog.NONE, GPA_A + layout.deviceOffset(),
                    GPA_A + layout.deviceOffset(), start);
            DescriptorChain chain = new DescriptorChain();
            byte[] scratch = new byte[256];
            for (int round = 0; round < 2 * size + 2 && !queue.isBroken(); round++) {
                if (!queue.pop(chain)) {
                    break;
                }
                checkSegments(chain, regions);
                ChainReader reader = chain.reader();
                while (reader.remaining() > 0) {
                    reader.read(scratch, 0, (int) Math.min(scratch.length, reader.remaining()));
                }
                ChainWriter writer = chain.writer();
                long toWrite = Math.min(writer.remaining(), data.consumeInt(0, 64));
                for (long i = 0; i < toWrite; i++) {
                    writer.writeU8((int) i);
                }
                queue.addUsed(chain);
                if (data.consumeBoolean()) {
                    queue.publishUsed();
                    queue.needsNotification();
                }
                if (data.consumeBoolean()) {
                    queue.enableNotifications();
                } else {
                    queue.disableNotifications();
                }
            }
            queue.publishUsed();
            queue.needsNotification();
            if (queue.isBroken()) {
                assertThat(queue.brokenReason()).contains("VIRTIO 1.2 §").doesNotContain("unexpected failure");
            }
        }
    }

    /** Descriptors, often with addresses that land in or near guest memory so parsing gets past translation. */
    private static void writeDescriptors(FuzzedDataProvider data, MemorySegment table, Endianness o, int count,
            boolean packed) {
        for (int i = 0; i < count && data.remainingBytes() > 0; i++) {
            long off = (long) Desc.SIZE * i;
            o.putU64(table, off + Desc.ADDR, address(data));
            o.putU32(table, off + Desc.LEN, data.consumeBoolean() ? data.consumeInt(0, 0x2000) : data.consumeInt() & 0xFFFF_FFFFL);
            int flags = data.consumeInt(0, 0xFFFF);
            if (packed) {
                o.putU16(table, off + Desc.PACKED_ID, data.consumeInt(0, 0xFFFF));
                o.putU16(table, off + Desc.PACKED_FLAGS, flags);
            } else {
                o.putU16(table, off + Desc.SPLIT_FLAGS, flags);
                o.putU16(table, off + Desc.SPLIT_NEXT, data.consumeBoolean() ? data.consumeInt(0, 20) : data.consumeInt(0, 0xFFFF));
            }
        }
    }

    private static long address(FuzzedDataProvider data) {
        return switch (data.consumeInt(0, 4)) {
            case 0 -> GPA_A + data.consumeInt(0, SIZE_A + SIZE_B);
            case 1 -> TABLES + 16L * data.consumeInt(0, 0x80);
            case 2 -> GPA_B - data.consumeInt(0, 64);
            case 3 -> GPA_C + data.consumeInt(0, SIZE_C + 64);
            default -> data.consumeLong();
        };
    }

    private static void checkSegments(DescriptorChain chain, Set<MemorySegment> regions) {
        long readable = 0;
        long writable = 0;
        for (int i = 0; i < chain.segmentCount(); i++) {
            assertThat(regions).contains(chain.segmentBase(i));
            assertThat(chain.segmentLength(i)).isPositive();
            assertThat(chain.segmentOffset(i)).isNotNegative();
            assertThat(chain.segmentOffset(i) + chain.segmentLength(i)).isLessThanOrEqualTo(chain.segmentBase(i).byteSize());
            if (chain.isWritable(i)) {
                writable += chain.segmentLength(i);
            } else {
                assertThat(writable).as("readable segment after a writable one").isZero();
                readable += chain.segmentLength(i);
            }
        }
        assertThat(readable).isEqualTo(chain.readableBytes());
        assertThat(writable).isEqualTo(chain.writableBytes());
        assertThat(readable + writable).isLessThanOrEqualTo(0xFFFF_FFFFL);
    }
}

package io.jvdpa.virtqueue;

import static io.jvdpa.virtqueue.GuestFixture.packedDesc;
import static io.jvdpa.virtqueue.GuestFixture.splitDesc;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.jvdpa.memory.DirtyLog;
import io.jvdpa.memory.Endianness;
import io.jvdpa.memory.GuestMemory;
import io.jvdpa.memory.GuestRegion;
import io.jvdpa.sys.Fd;
import io.jvdpa.sys.MemFd;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/**
 * One test per way a hostile or broken driver can corrupt a ring. Each is caught before any buffer access,
 * counted, named with its spec section, and breaks only that queue: pop returns false and throws nothing, and
 * another queue on the same guest memory keeps working.
 */
class HostileRingTest {
    static final int SIZE = 8;
    static final long OUTSIDE = 0x4000_0000L;
    /** Guest-physical base of a large sparse region, for chains that total more than 4 GiB. */
    static final long BIG_GPA = 0x1_0000_0000L;
    static final long BIG_SIZE = 5L << 30;

    /** Writes a hostile ring. {@code data} is a valid buffer address, {@code table} a spare guest address. */
    interface Builder {
        void build(Ring r) throws Exception;
    }

    record Case(String name, boolean packed, boolean indirectFeature, String reason, Builder builder) {
        @Override
        public String toString() {
            return (packed ? "packed: " : "split: ") + name;
        }
    }

    /** The hostile ring under construction: raw writes into the queue's areas and guest memory. */
    static final class Ring {
        final GuestFixture g;
        final Endianness o;
        final long data;
        final long table;
        GuestMemory memory;

        Ring(GuestFixture g) {
            this.g = g;
            this.o = g.features.order();
            this.data = g.dataStart;
            this.table = g.dataStart + 0x1000;
            this.memory = g.memory;
        }

        /** Split descriptor in the queue's table. */
        void desc(int i, long addr, long len, int flags, int next) {
            splitDesc(g.areas.descriptors(), o, i, addr, len, flags, next);
        }

        /** Split descriptor in the spare table in guest memory. */
        void indirect(int i, long addr, long len, int flags, int next) {
            splitDesc(g.memory.slice(table, 16L * (i + 1)), o, i, addr, len, flags, next);
        }

        /** Makes split heads available: ring entries, then avail idx. */
        void avail(int... heads) {
            MemorySegment avail = g.areas.driverArea();
            for (int k = 0; k < heads.length; k++) {
                o.putU16(avail, SplitRing.AVAIL_RING + 2L * k, heads[k]);
            }
            availIdx(heads.length);
        }

        void availIdx(int idx) {
            o.putU16Release(g.areas.driverArea(), SplitRing.AVAIL_IDX, idx);
        }

        /** Packed descriptor made available in the first lap (wrap counter 1), its Buffer ID its position. */
        void pdesc(int pos, long addr, long len, int flags) {
            pdesc(pos, addr, len, pos, flags);
        }

        void pdesc(int pos, long addr, long len, int id, int flags) {
            packedDesc(g.areas.descriptors(), o, pos, addr, len, id, flags | Desc.F_AVAIL);
        }

        /** Packed indirect table entry in guest memory. */
        void pindirect(int i, long addr, long len, int flags) {
            packedDesc(g.memory.slice(table, 16L * (i + 1)), o, i, addr, len, 0, flags);
        }

        /** Adds a sparse 5 GiB region so that huge descriptors are inside guest memory. */
        void bigMemory() throws Exception {
            try (Fd fd = MemFd.create("hostile-big", BIG_SIZE)) {
                GuestRegion big = GuestRegion.map(BIG_GPA, BIG_SIZE, 0x7e00_0000_0000L, 0, fd);
                List<GuestRegion> all = new ArrayList<>(g.memory.regions());
                all.add(big);
                memory = GuestMemory.of(all);
            }
        }
    }

    static Stream<Arguments> cases() {
        int n = Desc.F_NEXT;
        int w = Desc.F_WRITE;
        int ind = Desc.F_INDIRECT;
        List<Case> cases = List.of(
                new Case("chain that loops", false, false, "loops or is longer than the queue", r -> {
                    r.desc(0, r.data, 64, n, 1);
                    r.desc(1, r.data, 64, n, 0);
                    r.avail(0);
                }),
                new Case("chain longer than the queue size (in an indirect table)", false, true,
                        "loops or is longer than the queue", r -> {
                    for (int i = 0; i <= SIZE; i++) {
                        r.indirect(i, r.data, 16, n, i + 1);
                    }
                    r.indirect(SIZE + 1, r.data, 16, 0, 0);
                    r.desc(0, r.table, 16L * (SIZE + 2), ind, 0);
                    r.avail(0);
                }),
                new Case("head index >= queue size", false, false, "names descriptor 8, queue size is 8", r -> r.avail(SIZE)),
                new Case("next index >= queue size", false, false, "names next descriptor 8", r -> {
                    r.desc(0, r.data, 64, n, SIZE);
                    r.avail(0);
                }),
                new Case("next index beyond the indirect table", false, true, "the indirect table has 2", r -> {
                    r.indirect(0, r.data, 16, n, 2);
                    r.indirect(1, r.data, 16, 0, 0);
                    r.desc(0, r.table, 32, ind, 0);
                    r.avail(0);
                }),
                new Case("nested indirect table", false, true, "itself indirect", r -> {
                    r.indirect(0, r.table, 16, ind, 0);
                    r.desc(0, r.table, 16, ind, 0);
                    r.avail(0);
                }),
                new Case("indirect table of length zero", false, true, "zero or not a multiple of 16", r -> {
                    r.desc(0, r.table, 0, ind, 0);
                    r.avail(0);
                }),
                new Case("indirect table length not a multiple of 16", false, true, "zero or not a multiple of 16", r -> {
                    r.desc(0, r.table, 17, ind, 0);
                    r.avail(0);
                }),
                new Case("indirect descriptor without VIRTIO_F_INDIRECT_DESC", false, false, "was not negotiated", r -> {
                    r.indirect(0, r.data, 16, 0, 0);
                    r.desc(0, r.table, 16, ind, 0);
                    r.avail(0);
                }),
                new Case("indirect descriptor with NEXT", false, true, "both INDIRECT and NEXT", r -> {
                    r.indirect(0, r.data, 16, 0, 0);
                    r.desc(0, r.table, 16, ind | n, 1);
                    r.desc(1, r.data, 16, 0, 0);
                    r.avail(0);
                }),
                new Case("indirect table outside guest memory", false, true, "not inside one guest memory region", r -> {
                    r.desc(0, OUTSIDE, 32, ind, 0);
                    r.avail(0);
                }),
                new Case("buffer outside guest memory", false, false, "outside guest memory", r -> {
                    r.desc(0, OUTSIDE, 64, 0, 0);
                    r.avail(0);
                }),
                new Case("buffer running off the end of guest memory", false, false, "outside guest memory", r -> {
                    r.desc(0, GuestFixture.GPA_B + GuestFixture.SIZE_B - 8, 16, w, 0);
                    r.avail(0);
                }),
                new Case("addr+len wraps the address space", false, false, "wraps the address space", r -> {
                    r.desc(0, 0xFFFF_FFFF_FFFF_FFF0L, 0x20, 0, 0);
                    r.avail(0);
                }),
                new Case("chain totals more than 2^32-1 bytes", false, false, "more than 2^32-1", r -> {
                    r.bigMemory();
                    r.desc(0, BIG_GPA, 0xFFFF_0000L, n, 1);
                    r.desc(1, BIG_GPA, 0x10_0000L, 0, 0);
                    r.avail(0);
                }),
                new Case("readable descriptor after a writable one", false, false, "follows a device-writable one", r -> {
                    r.desc(0, r.data, 64, w | n, 1);
                    r.desc(1, r.data + 64, 64, 0, 0);
                    r.avail(0);
                }),
                new Case("addr+len wraps the address space (in an indirect table)", false, true,
                        "wraps the address space", r -> {
                    r.indirect(0, 0xFFFF_FFFF_FFFF_FFF0L, 0x20, 0, 0);
                    r.desc(0, r.table, 16, ind, 0);
                    r.avail(0);
                }),
                new Case("chain totals more than 2^32-1 bytes (in an indirect table)", false, true, "more than 2^32-1",
                        r -> {
                    r.bigMemory();
                    r.indirect(0, BIG_GPA, 0xFFFF_0000L, n, 1);
                    r.indirect(1, BIG_GPA, 0x10_0000L, 0, 0);
                    r.desc(0, r.table, 32, ind, 0);
                    r.avail(0);
                }),
                new Case("readable descriptor after a writable one (in an indirect table)", false, true,
                        "follows a device-writable one", r -> {
                    r.indirect(0, r.data, 64, w | n, 1);
                    r.indirect(1, r.data + 64, 64, 0, 0);
                    r.desc(0, r.table, 32, ind, 0);
                    r.avail(0);
                }),
                new Case("avail idx more than queue size ahead", false, false, "more than the queue size", r -> {
                    r.desc(0, r.data, 64, 0, 0);
                    r.availIdx(SIZE + 1);
                }),

                new Case("list longer than the queue size (wraps onto itself)", true, false, "longer than the queue size", r -> {
                    for (int i = 0; i < SIZE; i++) {
                        r.pdesc(i, r.data, 64, n);
                    }
                }),
                new Case("indirect descriptor inside a NEXT list", true, true, "part of a list linked by NEXT", r -> {
                    r.pindirect(0, r.data, 16, 0);
                    r.pdesc(1, r.table, 16, ind);
                    r.pdesc(0, r.data, 16, n);
                }),
                new Case("indirect descriptor with NEXT", true, true, "part of a list linked by NEXT", r -> {
                    r.pindirect(0, r.data, 16, 0);
                    r.pdesc(1, r.data, 16, 0);
                    r.pdesc(0, r.table, 16, ind | n);
                }),
                new Case("nested indirect table", true, true, "itself indirect", r -> {
                    r.pindirect(0, r.table, 16, ind);
                    r.pdesc(0, r.table, 16, ind);
                }),
                new Case("indirect table of length zero", true, true, "zero or not a multiple of 16",
                        r -> r.pdesc(0, r.table, 0, ind)),
                new Case("indirect table length not a multiple of 16", true, true, "zero or not a multiple of 16",
                        r -> r.pdesc(0, r.table, 24, ind)),
                new Case("indirect table longer than the queue size", true, true, "longer than the queue size",
                        r -> r.pdesc(0, r.table, 16L * (SIZE + 1), ind)),
                new Case("indirect descriptor without VIRTIO_F_INDIRECT_DESC", true, false, "was not negotiated", r -> {
                    r.pindirect(0, r.data, 16, 0);
                    r.pdesc(0, r.table, 16, ind);
                }),
                new Case("indirect table outside guest memory", true, true, "not inside one guest memory region",
                        r -> r.pdesc(0, OUTSIDE, 32, ind)),
                new Case("buffer outside guest memory", true, false, "outside guest memory",
                        r -> r.pdesc(0, OUTSIDE, 64, 0)),
                new Case("buffer in an indirect table outside guest memory", true, true, "outside guest memory", r -> {
                    r.pindirect(0, OUTSIDE, 64, w);
                    r.pdesc(0, r.table, 16, ind);
                }),
                new Case("addr+len wraps the address space", true, false, "wraps the address space",
                        r -> r.pdesc(0, 0xFFFF_FFFF_FFFF_FF00L, 0x200, w)),
                new Case("chain totals more than 2^32-1 bytes", true, false, "more than 2^32-1", r -> {
                    r.bigMemory();
                    r.pdesc(1, BIG_GPA, 0x10_0000L, 0);
                    r.pdesc(0, BIG_GPA, 0xFFFF_0000L, n);
                }),
                new Case("readable descriptor after a writable one", true, false, "follows a device-writable one", r -> {
                    r.pdesc(1, r.data + 64, 64, 0);
                    r.pdesc(0, r.data, 64, w | n);
                }),
                new Case("addr+len wraps the address space (in an indirect table)", true, true,
                        "wraps the address space", r -> {
                    r.pindirect(0, 0xFFFF_FFFF_FFFF_FF00L, 0x200, w);
                    r.pdesc(0, r.table, 16, ind);
                }),
                new Case("readable descriptor after a writable one (in an indirect table)", true, true,
                        "follows a device-writable one", r -> {
                    r.pindirect(0, r.data, 64, w);
                    r.pindirect(1, r.data + 64, 64, 0);
                    r.pdesc(0, r.table, 32, ind);
                }),
                new Case("Buffer ID >= queue size", true, false, "has Buffer ID 8, queue size is 8", r -> {
                    // The id that counts is the last descriptor's (§2.8.6): the head's is in range.
                    r.pdesc(1, r.data + 64, 64, SIZE, w);
                    r.pdesc(0, r.data, 64, 0, n);
                }),
                new Case("indirect descriptor with Buffer ID >= queue size", true, true, "has Buffer ID 65535", r -> {
                    r.pindirect(0, r.data, 16, w);
                    r.pdesc(0, r.table, 16, 0xFFFF, ind);
                }));
        return cases.stream().flatMap(c -> Stream.of(Arguments.of(c, Endianness.LITTLE), Arguments.of(c, Endianness.BIG)));
    }

    @ParameterizedTest(name = "{0} ({1})")
    @MethodSource("cases")
    void hostileRingBreaksOnlyItsQueue(Case c, Endianness order) throws Exception {
        VirtqueueFeatures features = new VirtqueueFeatures(SIZE, c.packed(), false, c.indirectFeature(), order);
        try (GuestFixture g = new GuestFixture(features, false)) {
            DeviceQueue queue = g.device(RingState.initial());
            Ring ring = new Ring(g);
            c.builder().build(ring);
            queue.setMemory(ring.memory);
            int[] told = new int[1];
            queue.setBrokenListener(() -> told[0]++);
            DescriptorChain chain = new DescriptorChain();

            assertThatCode(() -> assertThat(queue.pop(chain)).isFalse()).doesNotThrowAnyException();
            assertThat(queue.isBroken()).isTrue();
            assertThat(queue.brokenReason()).contains(c.reason()).contains("VIRTIO 1.2 §");
            assertThat(queue.counters().errors()).isEqualTo(1);
            assertThat(queue.counters().chains()).isZero();
            assertThat(told[0]).isEqualTo(1);
            // Stays broken, and what the device might still do with it is ignored.
            assertThat(queue.pop(chain)).isFalse();
            assertThatCode(() -> {
                queue.addUsed(0, 1, 0);
                queue.publishUsed();
            }).doesNotThrowAnyException();
            assertThat(told[0]).isEqualTo(1);

            neighbourStillWorks(g, features);
        }
    }

    /** A second queue over the same guest memory takes and returns a buffer as usual. */
    private static void neighbourStillWorks(GuestFixture g, VirtqueueFeatures features) {
        RingLayout layout = RingLayout.of(features);
        RingAreas areas = layout.areas(g.arena.allocate(layout.byteSize(), 4096));
        DriverQueue driver = DriverQueue.create(features, areas, RingState.initial());
        DeviceQueue device = DeviceQueue.create(features, areas, g.memory, DirtyLog.NONE, 0, 0, RingState.initial());
        long buf = g.dataStart + 0x8000;
        assertThat(driver.post1(buf, 128, true, 42)).isTrue();
        driver.publish();
        DescriptorChain chain = new DescriptorChain();
        assertThat(device.pop(chain)).isTrue();
        chain.writer().writeU32(0xC0FFEE, Endianness.LITTLE);
        device.addUsed(chain);
        device.publishUsed();
        UsedBuffer used = new UsedBuffer();
        assertThat(driver.reap(used)).isTrue();
        assertThat(used.token()).isEqualTo(42);
        assertThat(used.length()).isEqualTo(4);
        assertThat(device.isBroken()).isFalse();
    }

    @Test
    void aBrokenQueueIsLoggedOnce() {
        Logger logger = (Logger) LoggerFactory.getLogger(DeviceQueue.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try (GuestFixture g = new GuestFixture(VirtqueueFeatures.split(SIZE, Endianness.LITTLE), false)) {
            DeviceQueue queue = g.device(RingState.initial());
            queue.setLabel("hostile-log-test");
            new Ring(g).avail(SIZE, SIZE, SIZE);
            DescriptorChain chain = new DescriptorChain();
            for (int i = 0; i < 5; i++) {
                queue.pop(chain);
            }
            queue.markBroken("again");
            assertThat(appender.list.stream()
                    .filter(e -> e.getLevel() == Level.WARN && e.getFormattedMessage().contains("hostile-log-test")))
                    .hasSize(1);
            assertThat(queue.brokenReason()).contains("names descriptor");
            assertThat(queue.counters().errors()).isEqualTo(2);
        } finally {
            logger.detachAppender(appender);
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void memoryUnmappedUnderTheQueueBreaksItWithoutThrowing(boolean packed) {
        VirtqueueFeatures f = new VirtqueueFeatures(SIZE, packed, true, false, Endianness.LITTLE);
        GuestFixture g = new GuestFixture(f, false);
        DriverQueue driver = g.driver(RingState.initial());
        DeviceQueue queue = g.device(RingState.initial());
        driver.post1(g.dataStart, 16, true, 0);
        driver.publish();
        DescriptorChain chain = new DescriptorChain();
        assertThat(queue.pop(chain)).isTrue();
        queue.addUsed(chain, 0);
        g.close();
        assertThatCode(() -> {
            queue.publishUsed();
            queue.needsNotification();
            queue.disableNotifications();
            assertThat(queue.enableNotifications()).isFalse();
            assertThat(queue.pop(chain)).isFalse();
        }).doesNotThrowAnyException();
        assertThat(queue.isBroken()).isTrue();
        assertThat(queue.brokenReason()).contains("unexpected failure in publishUsed");
    }

    @Test
    void deviceReportingMoreBytesThanTheBufferHoldsBreaksTheQueue() {
        VirtqueueFeatures f = VirtqueueFeatures.split(SIZE, Endianness.LITTLE);
        try (GuestFixture g = new GuestFixture(f, false)) {
            DriverQueue driver = g.driver(RingState.initial());
            DeviceQueue device = g.device(RingState.initial());
            driver.post1(g.dataStart, 16, true, 1);
            driver.publish();
            DescriptorChain chain = new DescriptorChain();
            assertThat(device.pop(chain)).isTrue();
            device.addUsed(chain, 17);
            assertThat(device.isBroken()).isTrue();
            assertThat(device.brokenReason()).contains("17 bytes written").contains("16 writable bytes");
        }
    }

    /** 65536 is the case a 16-bit packed id field would wrap onto buffer 0, which the driver holds. */
    @ParameterizedTest(name = "packed={0}, buffer id {1}")
    @CsvSource({"false, 8", "false, -1", "false, 65536", "true, 8", "true, -1", "true, 65536"})
    void deviceReturningABufferIdOutsideTheQueueBreaksIt(boolean packed, int id) {
        VirtqueueFeatures f = new VirtqueueFeatures(SIZE, packed, false, false, Endianness.LITTLE);
        try (GuestFixture g = new GuestFixture(f, false)) {
            DriverQueue driver = g.driver(RingState.initial());
            DeviceQueue device = g.device(RingState.initial());
            driver.post1(g.dataStart, 16, true, 1);
            driver.publish();
            DescriptorChain chain = new DescriptorChain();
            assertThat(device.pop(chain)).isTrue();
            assertThatCode(() -> {
                device.addUsed(id, 1, 0);
                device.publishUsed();
            }).doesNotThrowAnyException();
            assertThat(device.isBroken()).isTrue();
            assertThat(device.brokenReason()).contains("buffer id " + id + ", queue size is " + SIZE)
                    .contains("VIRTIO 1.2 §");
            assertThat(driver.reap(new UsedBuffer())).as("nothing reaches the driver").isFalse();
        }
    }

    /**
     * A packed driver can make descriptors available again that the device still holds, so more buffers are in
     * flight than the ring has places. Returning them all before one publish must still work: the entries that
     * wait for the publish never outgrow what the queue keeps for them.
     */
    @Test
    void packedDeviceReturnsMoreBuffersThanTheRingHoldsInOnePublish() {
        VirtqueueFeatures f = new VirtqueueFeatures(SIZE, true, false, false, Endianness.LITTLE);
        try (GuestFixture g = new GuestFixture(f, false)) {
            DeviceQueue device = g.device(RingState.initial());
            MemorySegment ring = g.areas.descriptors();
            DescriptorChain chain = new DescriptorChain();
            List<Integer> ids = new ArrayList<>();
            for (boolean wrap : new boolean[] {true, false}) {
                for (int pos = 0; pos < SIZE; pos++) {
                    packedDesc(ring, Endianness.LITTLE, pos, g.dataStart + 64L * pos, 64, pos,
                            PackedRing.availFlags(wrap) | Desc.F_WRITE);
                }
                for (int pos = 0; pos < SIZE; pos++) {
                    assertThat(device.pop(chain)).isTrue();
                    ids.add(chain.headId());
                }
            }
            assertThat(device.inFlight()).isEqualTo(2 * SIZE);
            assertThatCode(() -> {
                for (int id : ids) {
                    device.addUsed(id, 1, 64);
                }
                device.publishUsed();
            }).doesNotThrowAnyException();
            assertThat(device.isBroken()).as("%s", device.brokenReason()).isFalse();
            assertThat(device.counters().usedChains()).isEqualTo(2 * SIZE);
        }
    }
}

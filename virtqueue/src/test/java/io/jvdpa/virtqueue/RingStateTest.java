package io.jvdpa.virtqueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.memory.Endianness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Saving and restoring where a queue stands (GET/SET_VRING_BASE, reconnect). */
class RingStateTest {

    @Test
    void splitStateIsTheAvailIndexAndUsedComesFromTheRing() {
        RingState s = RingState.fromVhostUser(0xFFFE, false);
        assertThat(s.nextAvail()).isEqualTo(0xFFFE);
        assertThat(s.nextUsed()).isEqualTo(RingState.USED_FROM_RING);
        assertThat(RingState.split(0xFFFE, 7).toVhostUser(false)).isEqualTo(0xFFFE);
    }

    @Test
    void packedStateCarriesBothPositionsAndWrapCounters() {
        RingState s = RingState.packed(5, true, 3, false);
        long num = s.toVhostUser(true);
        assertThat(num).isEqualTo(0x8005L | (3L << 16));
        assertThat(RingState.fromVhostUser(num, true)).isEqualTo(s);
        RingState both = RingState.packed(0x7FFF, true, 0x7FFF, true);
        assertThat(RingState.fromVhostUser(both.toVhostUser(true), true)).isEqualTo(both);
    }

    @Test
    void packedStateWithOnlyTheAvailHalfMeansUsedEqualsAvail() {
        assertThat(RingState.fromVhostUser(0x8005, true)).isEqualTo(RingState.packed(5, true, 5, true));
        assertThat(RingState.fromVhostUser(0x0005, true)).isEqualTo(RingState.packed(5, false, 5, false));
    }

    @Test
    void indicesOutsideSixteenBitsAreRefused() {
        assertThatThrownBy(() -> RingState.split(0x10000, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RingState.split(-1, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "packed={0} {1}")
    @CsvSource({"false, LITTLE", "false, BIG", "true, LITTLE", "true, BIG"})
    void aRestoredQueueContinuesWhereTheOldOneStopped(boolean packed, Endianness order) {
        VirtqueueFeatures f = new VirtqueueFeatures(packed ? 5 : 8, packed, true, false, order);
        try (GuestFixture g = new GuestFixture(f, false)) {
            RingState start = packed ? RingState.packed(3, false, 3, false) : RingState.split(0xFFFC, 0xFFFC);
            DriverQueue driver = g.driver(start);
            DeviceQueue first = g.device(start);
            DescriptorChain chain = new DescriptorChain();
            UsedBuffer used = new UsedBuffer();
            int token = 0;
            for (int round = 0; round < 7; round++) {
                DeviceQueue device = round == 0 ? first : restore(g, first, packed);
                first = device;
                for (int i = 0; i < 3; i++) {
                    assertThat(driver.post1(g.dataStart + 64L * i, 64, true, token++)).isTrue();
                }
                driver.publish();
                for (int i = 0; i < 3; i++) {
                    assertThat(device.pop(chain)).isTrue();
                    chain.writer().writeU32(chain.headId(), order);
                    device.addUsed(chain);
                }
                assertThat(device.pop(chain)).isFalse();
                device.publishUsed();
                for (int i = 0; i < 3; i++) {
                    assertThat(driver.reap(used)).isTrue();
                    assertThat(used.length()).isEqualTo(4);
                }
                assertThat(driver.reap(used)).isFalse();
                assertThat(device.state().nextAvail()).isEqualTo(driver.state().nextAvail());
            }
        }
    }

    /** What the protocol layer does: GET_VRING_BASE from the old queue, SET_VRING_BASE into a new one. */
    private static DeviceQueue restore(GuestFixture g, DeviceQueue old, boolean packed) {
        long num = old.state().toVhostUser(packed);
        return g.device(RingState.fromVhostUser(num, packed));
    }
}

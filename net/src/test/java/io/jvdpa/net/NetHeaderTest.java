package io.jvdpa.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.memory.Endianness;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The header written in two stores holds every field where the spec puts it, in the driver's byte order. */
class NetHeaderTest {
    @ParameterizedTest(name = "{0}, {1} bytes")
    @CsvSource({"LITTLE, 12", "LITTLE, 10", "BIG, 12", "BIG, 10"})
    void putLaysOutEveryFieldInTheDriversOrder(Endianness order, int size) {
        byte[] expected = new byte[16];
        MemorySegment e = MemorySegment.ofArray(expected);
        Endianness.putU8(e, 1 + NetHeader.FLAGS, 0x81);
        Endianness.putU8(e, 1 + NetHeader.GSO_TYPE, 0x84);
        order.putU16(e, 1 + NetHeader.HDR_LEN, 0x0102);
        order.putU16(e, 1 + NetHeader.GSO_SIZE, 0xF304);
        order.putU16(e, 1 + NetHeader.CSUM_START, 0x0506);
        order.putU16(e, 1 + NetHeader.CSUM_OFFSET, 0x0708);
        if (size == NetHeader.SIZE) {
            order.putU16(e, 1 + NetHeader.NUM_BUFFERS, 0x090A);
        }
        byte[] written = new byte[16];
        NetHeader.put(MemorySegment.ofArray(written), 1, order, size, 0x81, 0x84, 0x0102, 0xF304, 0x0506, 0x0708,
                0x090A);
        assertThat(written).as("the header at an odd offset, and nothing after it").isEqualTo(expected);
    }
}

package io.jvdpa.device;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.memory.Endianness;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.virtqueue.ChainReader;
import io.jvdpa.virtqueue.ChainWriter;
import io.jvdpa.virtqueue.DescriptorChain;
import io.jvdpa.virtqueue.DeviceQueue;
import io.jvdpa.virtqueue.UsedBuffer;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Map;

/**
 * A test device: each chain starts with a u32 in the device's byte order (as a net or blk header would);
 * the device writes back that value plus one in the same order, then the remaining readable bytes reversed.
 * A wrong byte-order decision anywhere between front-end and device shows up in the reply.
 */
final class EchoDevice implements VirtioDevice {
    static final int DEVICE_ID = 0x7e57;
    private final DescriptorChain chain = new DescriptorChain();
    private final byte[] buffer = new byte[65536];
    private volatile DeviceContext context;
    /** Whether process() uses the ring handed over at queueStarted, as the net device does, or asks each time. */
    private final boolean holdsRing;
    private final DeviceQueue[] held;
    volatile int activations;
    volatile int deactivations;

    @Override
    public String type() {
        return "echo";
    }

    @Override
    public int virtioId() {
        return DEVICE_ID;
    }

    @Override
    public long deviceFeatures() {
        return 1L << 3;
    }

    @Override
    public Map<Integer, String> featureNames() {
        return Map.of(3, "ECHO_TEST");
    }

    @Override
    public int maxQueues() {
        return held.length;
    }

    @Override
    public byte[] config(DriverModel driver) {
        byte[] c = new byte[8];
        java.nio.ByteBuffer.wrap(c).order(driver.deviceOrder().byteOrder()).putInt(0, 0x12345678).putShort(4, (short) 0x0102);
        return c;
    }

    @Override
    public void activate(DeviceContext ctx) {
        context = ctx;
        activations++;
    }

    EchoDevice() {
        this(false);
    }

    EchoDevice(boolean holdsRing) {
        this(holdsRing, 2);
    }

    EchoDevice(boolean holdsRing, int queues) {
        this.holdsRing = holdsRing;
        this.held = new DeviceQueue[queues];
    }

    /**
     * The driver side of one exchange on {@code ring}: sends {@code value} as the header in {@code order} with four
     * bytes after it, waits for the reply and returns its header, read in {@code order}.
     */
    static int roundTrip(DriverSession s, DriverRing ring, Endianness order, int value) throws Exception {
        ValueLayout.OfInt u32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(order.byteOrder());
        long out = s.ram().allocate(8, 16);
        long in = s.ram().allocate(8, 16);
        s.ram().at(out, 8).set(u32, 0, value);
        s.ram().at(out, 8).set(ValueLayout.JAVA_INT_UNALIGNED, 4, 0x01020304);
        assertThat(ring.queue().post(new long[] {out, in}, new int[] {8, 8}, 1, 1, value)).isTrue();
        ring.publishAndKick();
        UsedBuffer used = ring.awaitUsed(new UsedBuffer(), Duration.ofSeconds(5));
        assertThat(used.token()).isEqualTo(value);
        assertThat(used.length()).isEqualTo(8);
        return s.ram().at(in, 8).get(u32, 0);
    }

    @Override
    public void queueStarted(Queue queue) {
        held[queue.index()] = queue.ring();
    }

    @Override
    public void queueStopped(Queue queue) {
        held[queue.index()] = null;
    }

    @Override
    public void process(Queue queue) {
        DeviceQueue ring = holdsRing ? held[queue.index()] : queue.ring();
        Endianness order = context.driver().deviceOrder();
        while (ring.pop(chain)) {
            ChainReader in = chain.reader();
            ChainWriter out = chain.writer();
            long header = in.readU32(order);
            int n = (int) in.remaining();
            in.read(buffer, 0, n);
            out.writeU32(header + 1, order);
            for (int i = n - 1; i >= 0; i--) {
                out.writeU8(buffer[i]);
            }
            ring.addUsed(chain);
        }
        queue.publish();
    }

    @Override
    public void deactivate() {
        deactivations++;
    }
}

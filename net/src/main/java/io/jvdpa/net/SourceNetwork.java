package io.jvdpa.net;

/**
 * Sends the guest 64-byte frames as fast as it takes them, and drops what the guest sends. For benchmarks of the
 * receive path: every time the guest posts receive buffers, the queue is filled.
 *
 * <p>Frames go to the device's MAC from a fixed locally administered address, EtherType 0x88B5 (local
 * experimental), with a running sequence number in the payload.
 */
public final class SourceNetwork implements Network {
    public static final int FRAME_SIZE = 64;
    public static final long SOURCE_MAC = 0x02_6a_76_00_00_05L;
    private static final int ETH_P_LOCAL_EXPERIMENTAL = 0x88B5;
    /** Frames per call at most: a guest filter that refuses every frame must not keep the worker forever. */
    private static final int BURST = 4096;
    private static final int GENERATED = 0;
    private final PairCounters counters = new PairCounters(1);
    private final Packet[] frames = new Packet[VirtioNetDevice.MAX_QUEUE_PAIRS];
    private final long[] sequence = new long[VirtioNetDevice.MAX_QUEUE_PAIRS * 8];
    private volatile GuestPort guest;

    public SourceNetwork() {
        for (int i = 0; i < frames.length; i++) {
            frames[i] = Packet.allocate(FRAME_SIZE);
        }
    }

    @Override
    public String describe() {
        return "source";
    }

    @Override
    public void attach(GuestPort port) {
        guest = port;
        for (Packet p : frames) {
            p.reset(0, FRAME_SIZE);
            p.segment().fill((byte) 0);
            p.setDestination(port.mac());
            p.setSource(SOURCE_MAC);
            p.putU16(12, ETH_P_LOCAL_EXPERIMENTAL);
        }
    }

    @Override
    public void detach() {
        guest = null;
    }

    @Override
    public void pairStarted(int pair) {
        fill(pair);
    }

    @Override
    public void receiveReady(int pair) {
        fill(pair);
    }

    @Override
    public void transmit(int pair, Packet frame) {}

    private void fill(int pair) {
        GuestPort g = guest;
        if (g == null) {
            return;
        }
        GuestRx rx = g.rx(pair);
        Packet p = frames[pair];
        p.setDestination(g.mac());
        Counters c = counters.pair(pair);
        int seqIndex = pair * 8;
        for (int i = 0; i < BURST; i++) {
            p.putU16(14, (int) (sequence[seqIndex] >>> 16));
            p.putU16(16, (int) sequence[seqIndex]);
            if (!rx.deliver(p)) {
                break;
            }
            sequence[seqIndex]++;
            c.increment(GENERATED);
        }
        rx.flush();
    }

    public long generated() {
        return counters.sum(GENERATED);
    }

    @Override
    public String counters() {
        return "generated=" + generated();
    }
}

package io.jvdpa.net;

/** Drops and counts what the guest sends; sends it nothing. For benchmarks of the transmit path. */
public final class SinkNetwork implements Network {
    private static final int FRAMES = 0;
    private static final int BYTES = 1;
    private final PairCounters counters = new PairCounters(2);

    @Override
    public String describe() {
        return "sink";
    }

    @Override
    public void attach(GuestPort guest) {}

    @Override
    public void transmit(int pair, Packet frame) {
        Counters c = counters.pair(pair);
        c.increment(FRAMES);
        c.add(BYTES, frame.length());
    }

    public long frames() {
        return counters.sum(FRAMES);
    }

    public long bytes() {
        return counters.sum(BYTES);
    }

    @Override
    public String counters() {
        return "sink-frames=" + frames() + " sink-bytes=" + bytes();
    }
}

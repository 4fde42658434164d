package io.jvdpa.net;

/**
 * Sends every frame back to the guest on the queue pair it came from, with source and destination MAC
 * swapped. For benchmarks of both paths at once.
 */
public final class ReflectNetwork implements Network {
    private static final int FRAMES = 0;
    private static final int DROPPED = 1;
    private final PairCounters counters = new PairCounters(2);
    private volatile GuestPort guest;

    @Override
    public String describe() {
        return "reflect";
    }

    @Override
    public void attach(GuestPort port) {
        guest = port;
    }

    @Override
    public void detach() {
        guest = null;
    }

    @Override
    public void transmit(int pair, Packet frame) {
        GuestPort g = guest;
        if (g == null) {
            return;
        }
        long dst = frame.destination();
        frame.setDestination(frame.source());
        frame.setSource(dst);
        Counters c = counters.pair(pair);
        if (g.rx(pair).send(frame)) {
            c.increment(FRAMES);
        } else {
            c.increment(DROPPED);
        }
    }

    public long reflected() {
        return counters.sum(FRAMES);
    }

    @Override
    public String counters() {
        return "reflected=" + reflected() + " reflect-dropped=" + counters.sum(DROPPED);
    }
}

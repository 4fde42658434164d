package io.jvdpa.net;

/** One device's port on an {@link L2Switch}: what the guest sends is switched; what the switch sends it, it gets. */
public final class SwitchNetwork implements Network {
    private final L2Switch fabric;
    private volatile GuestPort guest;
    private volatile int port = -1;

    public SwitchNetwork(L2Switch fabric) {
        this.fabric = fabric;
    }

    public L2Switch fabric() {
        return fabric;
    }

    /** The port number while a driver is active, else -1. */
    public int port() {
        return port;
    }

    @Override
    public String describe() {
        return "switch:" + fabric.name();
    }

    @Override
    public void attach(GuestPort g) {
        guest = g;
        port = fabric.join(this);
    }

    @Override
    public void detach() {
        int p = port;
        port = -1;
        guest = null;
        if (p >= 0) {
            fabric.leave(p);
        }
    }

    @Override
    public void transmit(int pair, Packet frame) {
        int p = port;
        if (p >= 0) {
            fabric.forward(p, frame);
        }
    }

    /** A frame for this port's guest (any thread): onto the receive queue its source hashes to. */
    void receive(Packet frame) {
        GuestPort g = guest;
        if (g == null) {
            return;
        }
        long src = frame.source();
        int pair = g.pickPair((int) (src ^ (src >>> 24)));
        if (pair >= 0) {
            g.rx(pair).post(frame);
        }
    }

    @Override
    public void close() {
        detach();
    }
}

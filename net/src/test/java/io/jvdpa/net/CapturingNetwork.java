package io.jvdpa.net;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A network for tests: keeps what the guest sends, and lets the test send the guest frames from its own thread. */
final class CapturingNetwork implements Network {
    /** A frame the guest sent, with the queue pair and header fields it came with. */
    record Sent(int pair, byte[] frame, int flags, int gsoType, int hdrLen, int gsoSize, int csumStart,
                int csumOffset) {}

    private final boolean offloads;
    final LinkedBlockingQueue<Sent> sent = new LinkedBlockingQueue<>();
    volatile GuestPort guest;
    volatile RuntimeException failWith;

    CapturingNetwork(boolean offloads) {
        this.offloads = offloads;
    }

    @Override
    public String describe() {
        return "capture";
    }

    @Override
    public long features() {
        return offloads ? VirtioNetFeatures.OFFLOADS : 0;
    }

    @Override
    public boolean carriesOffloads() {
        return offloads;
    }

    @Override
    public void attach(GuestPort g) {
        guest = g;
    }

    @Override
    public void detach() {
        guest = null;
    }

    @Override
    public void transmit(int pair, Packet frame) {
        RuntimeException fail = failWith;
        if (fail != null) {
            throw fail;
        }
        sent.add(new Sent(pair, frame.toArray(), frame.flags(), frame.gsoType(), frame.hdrLen(), frame.gsoSize(),
                frame.csumStart(), frame.csumOffset()));
    }

    Sent next() throws InterruptedException {
        Sent s = sent.poll(5, TimeUnit.SECONDS);
        if (s == null) {
            throw new AssertionError("the guest's frame did not reach the network within 5 s");
        }
        return s;
    }

    /** Hands a frame to the guest from the test thread, as another thread of a real network would. */
    void toGuest(int pair, byte[] frame, int flags, int gsoType, int hdrLen, int gsoSize, int csumStart,
                 int csumOffset) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (guest == null) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no driver attached");
            }
            Thread.onSpinWait();
        }
        Packet p = Packet.allocate(Math.max(frame.length, 1));
        p.reset(0, frame.length);
        java.lang.foreign.MemorySegment.copy(frame, 0, p.segment(), java.lang.foreign.ValueLayout.JAVA_BYTE, 0,
                frame.length);
        p.setHeader(flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset);
        if (!guest.rx(pair).post(p)) {
            throw new AssertionError("receive queue full");
        }
    }

    void toGuest(int pair, byte[] frame) {
        toGuest(pair, frame, 0, 0, 0, 0, 0, 0);
    }
}

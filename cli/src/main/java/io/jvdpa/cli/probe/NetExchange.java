package io.jvdpa.cli.probe;

import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.VhostUserException;
import io.jvdpa.virtqueue.UsedBuffer;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;

/**
 * Net: post receive buffers, send one ARP request (who has 10.0.2.2, the usual gateway) on transmitq1, and see
 * the back-end take it; a frame that comes back on receiveq1 (an answer, or the frame forwarded) is reported too.
 * Header and frame travel in separate descriptors, which suits legacy framing and ANY_LAYOUT alike.
 */
final class NetExchange implements Exchange {
    private static final int RING = 64;
    private static final int RX_BUFFERS = 16;
    private static final int RX_BUFFER = 2048;
    private static final int FRAME = 42;

    @Override
    public String run(DriverSession s, DriverKind kind, Duration timeout)
            throws IOException, VhostUserException, ExchangeFailed {
        int header = kind.modern ? 12 : 10; // without MRG_RXBUF (virtio 1.2 5.1.6)
        DriverRing rx = s.setUpRing(0, RING, kind.order);
        DriverRing tx = s.setUpRing(1, RING, kind.order);
        s.driverOk();
        long rxHeaders = s.ram().allocate((long) RX_BUFFERS * 16, 16);
        long rxData = s.ram().allocate((long) RX_BUFFERS * RX_BUFFER, 64);
        for (int i = 0; i < RX_BUFFERS; i++) {
            rx.queue().post(new long[] {rxHeaders + 16L * i, rxData + (long) RX_BUFFER * i},
                    new int[] {header, RX_BUFFER}, 0, 2, i);
        }
        rx.publishAndKick();

        long txHeader = s.ram().allocate(16, 16);
        long txFrame = s.ram().allocate(64, 64);
        s.ram().at(txHeader, 16).fill((byte) 0);
        arpRequest(s.ram().at(txFrame, FRAME));
        tx.queue().post(new long[] {txHeader, txFrame}, new int[] {header, FRAME}, 2, 0, 0);
        tx.publishAndKick();

        UsedBuffer used = new UsedBuffer();
        if (!Exchange.awaitUsed(tx, used, timeout)) {
            throw new ExchangeFailed("the back-end did not take a frame from transmitq1 within " + timeout.toMillis() + " ms");
        }
        String sent = "a " + FRAME + "-byte frame sent on transmitq1 was used";
        if (Exchange.awaitUsed(rx, used, Duration.ofMillis(Math.min(1500, timeout.toMillis())))) {
            return sent + "; a " + (used.length() - header) + "-byte frame came back on receiveq1";
        }
        return sent + "; nothing came back on receiveq1 (the network may not answer ARP)";
    }

    /** Broadcast ARP request from 02:00:00:00:00:01 (10.0.2.15) for 10.0.2.2. */
    private static void arpRequest(MemorySegment f) {
        f.fill((byte) 0);
        byte[] bytes = {
            -1, -1, -1, -1, -1, -1, 2, 0, 0, 0, 0, 1, 8, 6,   // Ethernet: broadcast, source, ARP
            0, 1, 8, 0, 6, 4, 0, 1,                             // Ethernet/IPv4, request
            2, 0, 0, 0, 0, 1, 10, 0, 2, 15,                     // sender MAC and IP
            0, 0, 0, 0, 0, 0, 10, 0, 2, 2};                     // target MAC (unknown) and IP
        MemorySegment.copy(bytes, 0, f, ValueLayout.JAVA_BYTE, 0, bytes.length);
    }
}

package io.jvdpa.net;

import io.jvdpa.device.Worker;

/**
 * One receive queue of the guest, as a network delivers frames into it. Frames are copied into guest buffers
 * (header first, in the driver's byte order and framing), so the caller's packet is free again when a call
 * returns.
 */
public interface GuestRx {
    /** The thread the queue pair runs on: {@link #deliver}, {@link #send} and {@link #flush} only from there. */
    Worker worker();

    /** Whether the receive queue is started and enabled. */
    boolean running();

    /**
     * Puts {@code frame} into guest buffers now. Returns false, taking nothing, when the guest has no buffers;
     * true when the frame was taken (delivered, or dropped because the guest's filter or offloads refuse it or
     * it cannot fit). Worker thread only; visible to the guest at the next {@link #flush}.
     */
    boolean deliver(Packet frame);

    /** Delivers now or, if the guest has no room, queues a copy for later; false if it had to be dropped. */
    boolean send(Packet frame);

    /** From any thread: queues a copy and wakes the pair's worker to deliver it; false if dropped (queue full). */
    boolean post(Packet frame);

    /** Publishes what was delivered and notifies the guest if it wants to know (end of a burst). */
    void flush();
}

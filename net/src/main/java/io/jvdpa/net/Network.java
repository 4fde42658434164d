package io.jvdpa.net;

import io.jvdpa.device.DeviceException;

/**
 * What a virtio-net device is attached to: it receives the frames the guest transmits and produces the frames
 * the guest receives, through the {@link GuestPort} it is given while a driver is active.
 *
 * <p>Threads: {@link #attach} and {@link #detach} run on the control thread; everything with a {@code pair}
 * argument runs on that queue pair's worker thread, which is also where the pair's {@link GuestRx} may be used
 * directly. A network that produces frames on another thread hands them over with {@link GuestRx#post}.
 */
public interface Network extends AutoCloseable {
    /** For logs: "gateway 10.0.2.2/24", "tap:jv0". */
    String describe();

    /**
     * Device feature bits this network can honour beyond the device's own: segmentation offloads
     * ({@link VirtioNetFeatures#OFFLOADS}) need a network that carries a virtio-net header.
     */
    default long features() {
        return 0;
    }

    /**
     * Whether frames may reach {@link #transmit} with a partial checksum (NEEDS_CSUM) or segmentation pending;
     * if not, the device completes checksums itself and never offers segmentation offloads.
     */
    default boolean carriesOffloads() {
        return false;
    }

    /** A driver is active: frames for the guest go to {@code guest} until {@link #detach}. */
    void attach(GuestPort guest) throws DeviceException;

    /** The receive queue of {@code pair} started (on its worker). */
    default void pairStarted(int pair) {}

    /** The receive queue of {@code pair} stopped (on its worker); frames for it are no longer taken. */
    default void pairStopped(int pair) {}

    /**
     * A frame the guest transmitted on {@code pair}. {@code frame} and its buffer are valid only during the call;
     * the network may change the frame in place (e.g. to send it back).
     */
    void transmit(int pair, Packet frame);

    /** The guest made receive buffers available on {@code pair}: frames that were waiting may go now. */
    default void receiveReady(int pair) {}

    /** The driver went away. */
    default void detach() {}

    /** What this network counted, for statistics ("arp-replies 3 ..."); empty if nothing beyond the device's. */
    default String counters() {
        return "";
    }

    /** Releases what the network holds (a TAP device, a switch port). */
    @Override
    default void close() {}
}

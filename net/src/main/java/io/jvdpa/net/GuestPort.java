package io.jvdpa.net;

/** The guest side of a net device as its {@link Network} sees it while a driver is active. */
public interface GuestPort {
    /** The features the driver acked. */
    long ackedFeatures();

    /** The device's current MAC address (config space, or what the driver set through the control queue). */
    long mac();

    /** Queue pairs the device has (not all need be running). */
    int queuePairs();

    /** The receive side of {@code pair}. */
    GuestRx rx(int pair);

    /**
     * A running pair for a frame from another thread, spread by {@code hash} (e.g. of the source MAC) so one flow
     * stays on one pair; -1 if no receive queue is running.
     */
    int pickPair(int hash);
}

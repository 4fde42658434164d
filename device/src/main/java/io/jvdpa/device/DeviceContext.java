package io.jvdpa.device;

/** What an active device can ask of the framework. */
public interface DeviceContext {
    /** The negotiated driver: kind, acked features, byte orders. */
    DriverModel driver();

    /** The device's queues by index (a queue not set up by the front-end is not {@link Queue#started()}). */
    Queue queue(int index);

    int queueCount();

    /** Tells the front-end (and so the guest) that the config space changed, e.g. link status. */
    void configChanged();
}

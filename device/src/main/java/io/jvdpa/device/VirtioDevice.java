package io.jvdpa.device;

import java.util.Map;

/**
 * A device type: what a device author writes. The framework ({@link DeviceBackend}) owns negotiation,
 * memory, rings, notifications, threads, statistics and the transitional (legacy/modern, byte order)
 * decisions; a device states its features and config space and handles its queues.
 *
 * <p>{@link #process} runs on the queue's worker thread; the other methods on the control thread.
 */
public interface VirtioDevice {
    /** "net", "blk": the name management commands use. */
    String type();

    /** The virtio device id (1 net, 2 blk). */
    int virtioId();

    /** Device-type feature bits offered; the framework adds the transport and ring bits. */
    long deviceFeatures();

    /** Names of the device-type feature bits, for management output. */
    Map<Integer, String> featureNames();

    /** vhost-user protocol features this device type needs beyond the framework's (e.g. RARP, NET_MTU). */
    default long protocolFeatures() {
        return 0;
    }

    /** The most queues the front-end may set up. */
    int maxQueues();

    /**
     * The config space as the driver should see it: multi-byte fields in {@code driver.deviceOrder()}, fields
     * that depend on negotiated features (e.g. MTU) as {@code driver.ackedFeatures()} allows.
     */
    byte[] config(DriverModel driver);

    /** SET_CONFIG for a writable field; refuse anything else. */
    default void writeConfig(int offset, byte[] data, DriverModel driver) throws DeviceException {
        throw new DeviceException("config space offset " + offset + " is read-only");
    }

    /** Which worker group queue {@code index} belongs to: queues of one group share a thread (net: a pair). */
    default int workerGroup(int index) {
        return index;
    }

    /**
     * Features are negotiated and the first ring is about to start. {@code context} lasts until
     * {@link #deactivate()}; it tells the driver model and lets the device reach its queues.
     */
    void activate(DeviceContext context) throws DeviceException;

    /** A ring started (on its worker thread, before its first {@link #process}). */
    default void queueStarted(Queue queue) {}

    /** A ring stopped (on its worker thread, after its last {@link #process}). */
    default void queueStopped(Queue queue) {}

    /**
     * Handles whatever the driver has made available on {@code queue}: pop chains, complete them, publish and
     * notify once per burst ({@link Queue#publish()}). Must not throw for bad guest input: the ring marks
     * itself broken.
     */
    void process(Queue queue);

    /** Every ring has stopped or the front-end left: drop run-time state, keep configuration. */
    void deactivate();

    /** SEND_RARP: announce {@code mac} after migration (net only). */
    default void sendRarp(byte[] mac) {}

    /** NET_SET_MTU (net only). */
    default void setMtu(int mtu) throws DeviceException {
        throw new DeviceException("MTU is not configurable on a " + type() + " device");
    }
}

package io.jvdpa.device;

import java.util.List;

/**
 * A device as management sees it: what it offers, what the driver negotiated and which kind of driver it is
 * (with the evidence), and every queue. Taken by {@link DeviceBackend#snapshot()}; immutable.
 *
 * @param offeredFeatures    feature bits offered, by name
 * @param ackedFeatures      the driver's acked bits (0 until SET_FEATURES)
 * @param negotiatedFeatures {@code ackedFeatures} by name
 * @param protocolFeatures   vhost-user protocol features the front-end acked, by name
 * @param status             the device status byte the front-end last set (SET_STATUS), 0 if never
 * @param driver             the driver model: kind, byte orders, evidence
 * @param refusals           driver set-ups refused by the profile so far
 * @param lastRefusal        why the last one was refused, or null
 */
public record DeviceSnapshot(String name, String type, int virtioId, DeviceProfile profile,
                             List<String> offeredFeatures, long ackedFeatures, List<String> negotiatedFeatures,
                             List<String> protocolFeatures, int status, DriverModel.Snapshot driver,
                             List<QueueSnapshot> queues, long refusals, String lastRefusal) {
    public DeviceSnapshot {
        offeredFeatures = List.copyOf(offeredFeatures);
        negotiatedFeatures = List.copyOf(negotiatedFeatures);
        protocolFeatures = List.copyOf(protocolFeatures);
        queues = List.copyOf(queues);
    }
}

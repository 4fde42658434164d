package io.jvdpa.cli.daemon;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The device types a daemon can host, by name. */
public final class DeviceTypes {
    private final Map<String, DeviceFactory> factories = new LinkedHashMap<>();

    public DeviceTypes(List<DeviceFactory> all) {
        for (DeviceFactory f : all) {
            factories.put(f.type(), f);
        }
    }

    /** net and blk, parsed by the same command classes as {@code jvdpa net} and {@code jvdpa blk}. */
    public static DeviceTypes standard() {
        return new DeviceTypes(StandardDevices.factories());
    }

    public Optional<DeviceFactory> get(String type) {
        return Optional.ofNullable(factories.get(type));
    }

    public List<String> names() {
        return List.copyOf(factories.keySet());
    }
}

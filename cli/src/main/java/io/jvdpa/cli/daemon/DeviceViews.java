package io.jvdpa.cli.daemon;

import io.jvdpa.cli.control.DeviceConfigInfo;
import io.jvdpa.cli.control.DeviceInfo;
import io.jvdpa.cli.control.DeviceStats;
import io.jvdpa.cli.control.ProfileInfo;
import io.jvdpa.device.DeviceProfile;
import io.jvdpa.device.DeviceSnapshot;
import io.jvdpa.device.QueueSnapshot;
import io.jvdpa.memory.Endianness;
import io.jvdpa.vhostuser.BackendEndpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Turns a hosted device and its framework snapshot into what the control protocol carries. */
final class DeviceViews {
    /** Device status bits (virtio 1.2 section 2.1). */
    private static final String[] STATUS_BITS = {"ACKNOWLEDGE", "DRIVER", "DRIVER_OK", "FEATURES_OK", "bit 4", "bit 5",
        "DEVICE_NEEDS_RESET", "FAILED"};

    private DeviceViews() {}

    static DeviceInfo info(HostedDevice d) {
        DeviceSnapshot s = d.runner().backend().snapshot();
        BackendEndpoint endpoint = d.runner().endpoint();
        int started = (int) s.queues().stream().filter(QueueSnapshot::started).count();
        return new DeviceInfo(d.name(), d.type(), d.socketPath().toString(), d.client() ? "client" : "server",
                endpoint.connected(), endpoint.connections(), kind(s), statusNames(s.status()), started, profile(s),
                s.refusals(), s.lastRefusal(), d.args());
    }

    private static ProfileInfo profile(DeviceSnapshot s) {
        DeviceProfile p = s.profile();
        return new ProfileInfo(p.legacy().flag(), p.byteOrders(), p.packed(), s.queues().size(), p.anyLayoutOffered(),
                p.orderPlatform());
    }

    static DeviceConfigInfo config(HostedDevice d) {
        DeviceSnapshot s = d.runner().backend().snapshot();
        List<DeviceConfigInfo.Ring> rings = new ArrayList<>();
        for (QueueSnapshot q : s.queues()) {
            rings.add(new DeviceConfigInfo.Ring(q.index(), q.size(), q.started(), q.enabled(), order(q.order())));
        }
        return new DeviceConfigInfo(d.name(), d.type(), kind(s), s.driver().evidence(), order(s.driver().deviceOrder()),
                "0x" + Long.toHexString(s.ackedFeatures()), s.negotiatedFeatures(), s.offeredFeatures(),
                s.protocolFeatures(), rings);
    }

    static DeviceStats stats(HostedDevice d) {
        DeviceSnapshot s = d.runner().backend().snapshot();
        List<DeviceStats.QueueStats> queues = new ArrayList<>();
        for (QueueSnapshot q : s.queues()) {
            queues.add(new DeviceStats.QueueStats(q.index(), q.started(), q.kicks(), q.notifications(), q.chains(),
                    q.readBytes(), q.usedChains(), q.writtenBytes(), q.errors(), q.broken(), q.brokenReason()));
        }
        return new DeviceStats(d.name(), d.type(), queues, s.refusals(), s.lastRefusal());
    }

    private static String kind(DeviceSnapshot s) {
        return s.driver().kind().name().toLowerCase(Locale.ROOT);
    }

    private static String order(Endianness e) {
        return e == null ? "-" : e == Endianness.BIG ? "big" : "little";
    }

    static List<String> statusNames(int status) {
        List<String> names = new ArrayList<>();
        for (int bit = 0; bit < 8; bit++) {
            if ((status & (1 << bit)) != 0) {
                names.add(STATUS_BITS[bit]);
            }
        }
        return names;
    }
}

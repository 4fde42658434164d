package io.jvdpa.cli.daemon;

import io.jvdpa.cli.control.ControlException;
import io.jvdpa.cli.control.ControlHandler;
import io.jvdpa.cli.control.ControlRequest;
import io.jvdpa.cli.control.ErrorKind;
import java.util.List;

/** Answers control requests from the devices of a {@link DeviceHost}. */
public final class DaemonService implements ControlHandler {
    private final DeviceHost host;

    public DaemonService(DeviceHost host) {
        this.host = host;
    }

    @Override
    public Object handle(ControlRequest r) {
        return switch (r.command()) {
            case "list" -> host.list().stream().map(DeviceViews::info).toList();
            case "show" -> DeviceViews.info(host.get(required(r)));
            case "config" -> DeviceViews.config(host.get(required(r)));
            case "stats" -> DeviceViews.stats(host.get(required(r)));
            case "add" -> {
                if (r.type() == null) {
                    throw new ControlException(ErrorKind.USAGE, "add needs a device type (net or blk)");
                }
                yield DeviceViews.info(host.add(required(r), r.type(), r.args() == null ? List.of() : r.args()));
            }
            case "del" -> {
                String name = required(r);
                host.remove(name);
                yield java.util.Map.of("removed", name);
            }
            default -> throw new ControlException(ErrorKind.USAGE, "unknown command '" + r.command()
                    + "' (list, show, add, del, config, stats)");
        };
    }

    private static String required(ControlRequest r) {
        if (r.name() == null || r.name().isEmpty()) {
            throw new ControlException(ErrorKind.USAGE, r.command() + " needs a device name");
        }
        return r.name();
    }
}

package io.jvdpa.net;

import io.jvdpa.sys.LinuxException;

/** Makes a {@link Network} from its {@code --network} name. */
public final class Networks {
    public static final String USAGE = "gateway, sink, source, reflect, tap:NAME or switch:NAME";

    private Networks() {}

    /**
     * @param spec       "gateway", "sink", "source", "reflect", "tap:NAME" or "switch:NAME"
     * @param gatewayIp  the gateway's address (used by "gateway")
     * @param queuePairs the device's queue pairs (a TAP device gets one queue each)
     * @throws IllegalArgumentException for a name that is none of these
     * @throws LinuxException           if a TAP device cannot be opened
     */
    public static Network create(String spec, Ipv4Prefix gatewayIp, int queuePairs) throws LinuxException {
        return switch (kind(spec)) {
            case "gateway" -> new GatewayNetwork(gatewayIp, GatewayNetwork.DEFAULT_MAC);
            case "sink" -> new SinkNetwork();
            case "source" -> new SourceNetwork();
            case "reflect" -> new ReflectNetwork();
            case "tap" -> new TapNetwork(argument(spec), queuePairs);
            case "switch" -> new SwitchNetwork(L2Switch.named(argument(spec)));
            default -> throw new IllegalStateException(spec);
        };
    }

    /** Checks {@code spec} without opening anything; throws IllegalArgumentException naming what is wrong. */
    public static void validate(String spec) {
        kind(spec);
    }

    private static String kind(String spec) {
        if (spec == null || spec.isEmpty()) {
            throw new IllegalArgumentException("no network given; use " + USAGE);
        }
        int colon = spec.indexOf(':');
        String kind = colon < 0 ? spec : spec.substring(0, colon);
        switch (kind) {
            case "gateway", "sink", "source", "reflect" -> {
                if (colon >= 0) {
                    throw new IllegalArgumentException("network '" + spec + "': " + kind + " takes no name");
                }
            }
            case "tap" -> {
                String name = argument(spec);
                if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 15 || name.contains("/")) {
                    throw new IllegalArgumentException("network '" + spec
                            + "': a TAP interface name has at most 15 bytes and no '/'");
                }
            }
            case "switch" -> argument(spec);
            default -> throw new IllegalArgumentException("unknown network '" + spec + "'; use " + USAGE);
        }
        return kind;
    }

    private static String argument(String spec) {
        int colon = spec.indexOf(':');
        String name = colon < 0 ? "" : spec.substring(colon + 1);
        if (name.isEmpty() || name.isBlank()) {
            throw new IllegalArgumentException("network '" + spec + "' needs a name after ':', e.g. "
                    + (spec.startsWith("tap") ? "tap:jv0" : "switch:lab"));
        }
        return name;
    }
}

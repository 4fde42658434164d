package io.jvdpa.cli.probe;

import io.jvdpa.device.VirtioFeatures;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.Frontend;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.vhostuser.VhostUserException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Connects to any vhost-user back-end as a front-end and finds out what it serves. The first connection only
 * asks (features, protocol features, queue count, config space); with traffic, each driver kind the offer does not
 * already refuse then gets a connection of its own (a back-end may close one it refuses) on which a short request
 * goes through the rings.
 *
 * <p>Only protocol features the back-end offered are acked: some back-ends (DPDK) drop the connection on bits
 * they do not know.
 */
public final class Prober {
    private static final long VERSION_1 = VirtioFeatures.bit(VirtioFeatures.VERSION_1);
    private static final long RING_PACKED = VirtioFeatures.bit(VirtioFeatures.RING_PACKED);
    private static final long ANY_LAYOUT = VirtioFeatures.bit(VirtioFeatures.ANY_LAYOUT);
    private static final long PROTOCOL_FEATURES = VirtioFeatures.bit(VirtioFeatures.PROTOCOL_FEATURES);
    private static final long ASKING_PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.MQ, ProtocolFeature.CONFIG,
            ProtocolFeature.REPLY_ACK);
    /** What QEMU would ack for such a guest; CROSS_ENDIAN only where the guest's order differs from the host's. */
    private static final long DRIVING_PROTOCOL = ProtocolFeature.maskOf(ProtocolFeature.MQ, ProtocolFeature.CONFIG,
            ProtocolFeature.REPLY_ACK, ProtocolFeature.STATUS);
    private static final long GUEST_RAM = 2L << 20;

    private final Path socket;
    private final String forcedType;
    private final Duration timeout;

    /**
     * @param forcedType "net" or "blk" to skip guessing, or null
     * @param timeout    how long to wait for the back-end at each step
     */
    public Prober(Path socket, String forcedType, Duration timeout) {
        this.socket = socket;
        this.forcedType = forcedType;
        this.timeout = timeout;
    }

    public ProbeReport probe(boolean traffic) throws IOException, VhostUserException {
        long features;
        long protocol = 0;
        Integer queues = null;
        DeviceTypeGuess type;
        Map<String, Object> config = new LinkedHashMap<>();
        try (Frontend f = Frontend.connect(socket, timeout)) {
            features = f.getFeatures();
            if ((features & PROTOCOL_FEATURES) != 0) {
                protocol = f.getProtocolFeatures();
                f.setProtocolFeatures(protocol & ASKING_PROTOCOL);
                if (ProtocolFeature.MQ.in(protocol)) {
                    queues = f.getQueueNum();
                }
            }
            type = forcedType != null ? new DeviceTypeGuess(forcedType, "given with --type")
                    : DeviceTypeGuess.of(features, protocol);
            int size = DeviceTypes.configSize(type.type());
            if (ProtocolFeature.CONFIG.in(protocol) && size > 0) {
                try {
                    config.putAll(ConfigDecoder.decode(type.type(), f.getConfig(0, size), features));
                } catch (VhostUserException e) {
                    config.put("error", e.getMessage());
                }
            }
        }
        List<Verdict> verdicts = new ArrayList<>();
        for (DriverKind kind : DriverKind.values()) {
            Verdict offered = fromFeatures(kind, features, protocol);
            verdicts.add(!traffic ? offered
                    : offered.supported().equals(Verdict.NO) ? notTried(kind, offered)
                    : exchange(kind, type.type(), protocol));
        }
        return new ProbeReport(socket.toString(), type.type(), type.evidence(), "0x" + Long.toHexString(features),
                VirtioFeatures.names(features, DeviceTypes.featureNames(type.type())),
                "0x" + Long.toHexString(protocol), ProtocolFeature.names(protocol), queues, config, verdicts);
    }

    /** What the offered bits say about {@code kind}. */
    static Verdict fromFeatures(DriverKind kind, long features, long protocol) {
        boolean v1 = (features & VERSION_1) != 0;
        return switch (kind) {
            case MODERN_LE -> v1 ? Verdict.byFeatures(kind, Verdict.YES, "VERSION_1 offered")
                    : Verdict.byFeatures(kind, Verdict.NO, "VERSION_1 not offered");
            case PACKED -> !v1 ? Verdict.byFeatures(kind, Verdict.NO, "VERSION_1 not offered")
                    : (features & RING_PACKED) != 0 ? Verdict.byFeatures(kind, Verdict.YES, "RING_PACKED offered")
                    : Verdict.byFeatures(kind, Verdict.NO, "RING_PACKED not offered");
            case LEGACY_LE -> legacy(kind, features);
            case LEGACY_BE -> !ProtocolFeature.CROSS_ENDIAN.in(protocol)
                    ? Verdict.byFeatures(kind, Verdict.NO, "CROSS_ENDIAN not offered: the back-end cannot be told that "
                            + "a ring is big-endian (SET_VRING_ENDIAN), so it would misread every ring")
                    : Verdict.byFeatures(kind, Verdict.UNKNOWN, "CROSS_ENDIAN offered, so a ring can be announced "
                            + "big-endian; whether the back-end serves one the bits do not say (--traffic tries)");
        };
    }

    private static Verdict legacy(DriverKind kind, long features) {
        if ((features & VERSION_1) == 0) {
            return Verdict.byFeatures(kind, Verdict.YES, "VERSION_1 not offered: a legacy-only device");
        }
        if ((features & ANY_LAYOUT) != 0) {
            return Verdict.byFeatures(kind, Verdict.YES, "ANY_LAYOUT offered, which only legacy drivers use");
        }
        return Verdict.byFeatures(kind, Verdict.UNKNOWN, "nothing in the offered bits says (--traffic tries)");
    }

    /**
     * A "no" the offered bits decide is not tried through the rings: that would ack bits the back-end did not offer
     * or drive rings in an order it was never told, as a hostile front-end does, and some back-ends crash on that.
     */
    static Verdict notTried(DriverKind kind, Verdict offered) {
        String why = kind == DriverKind.LEGACY_BE
                ? "big-endian rings the back-end was never told about are what a hostile front-end sends"
                : "acking bits the back-end did not offer is what a hostile front-end does";
        return Verdict.byFeatures(kind, Verdict.NO, offered.reason() + "; no exchange tried: " + why);
    }

    private Verdict exchange(DriverKind kind, String type, long offeredProtocol) {
        Exchange exchange = switch (type) {
            case "net" -> new NetExchange();
            case "blk" -> new BlkExchange();
            default -> null;
        };
        if (exchange == null) {
            return Verdict.byExchange(kind, Verdict.UNKNOWN, "device type unknown: no request to try (name it with --type)");
        }
        long wanted = (kind.modern ? VERSION_1 : 0) | (kind.packed ? RING_PACKED : 0) | exchange.deviceFeatures();
        long protocol = DRIVING_PROTOCOL | (kind == DriverKind.LEGACY_BE ? ProtocolFeature.CROSS_ENDIAN.mask() : 0);
        String step = "connecting";
        try (DriverSession s = DriverSession.connect(socket, GUEST_RAM)) {
            step = "negotiating " + (kind.modern ? "a VERSION_1 driver" : "a legacy driver (no VERSION_1)")
                    + (kind.packed ? " with RING_PACKED" : "");
            s.negotiate(wanted, protocol & offeredProtocol);
            step = "setting up rings";
            return Verdict.byExchange(kind, Verdict.YES, exchange.run(s, kind, timeout));
        } catch (Exchange.ExchangeFailed e) {
            return Verdict.byExchange(kind, Verdict.NO, e.getMessage());
        } catch (VhostUserException e) {
            return Verdict.byExchange(kind, Verdict.NO, "refused while " + step + ": " + e.getMessage());
        } catch (IOException | RuntimeException e) {
            return Verdict.byExchange(kind, Verdict.NO, "the connection failed while " + step + ": " + e.getMessage());
        }
    }
}

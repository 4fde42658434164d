package io.jvdpa.device;

import io.jvdpa.memory.Endianness;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which driver the guest brought, and in which byte order it speaks: the transitional device's decision.
 *
 * <p>The kind follows from negotiation: VERSION_1 acked means modern (little-endian everywhere, 64-bit
 * features); not acked means legacy (guest-native order). A legacy driver's order is device-wide (the
 * profile's default, or the last SET_VRING_ENDIAN) and each ring may carry its own (SET_VRING_ENDIAN);
 * a modern driver is little-endian whatever was asked. Every observation that went into the decision is
 * kept as evidence, for {@code jvdpa dev config show} and the logs.
 *
 * <p>Changed by the connection thread, and by a worker only for the first kick before DRIVER_OK; read by others
 * through {@link #snapshot()}.
 */
public final class DriverModel {
    public enum Kind { UNKNOWN, MODERN, LEGACY }

    /** An immutable view for management and logs. */
    public record Snapshot(Kind kind, long ackedFeatures, Endianness deviceOrder, List<Endianness> ringOrders,
                           List<String> evidence) {}

    private static final int MAX_EVIDENCE = 32;
    /** Device status bits (virtio 1.2 section 2.1). */
    private static final int DRIVER = 0x2;
    private static final int DRIVER_OK = 0x4;
    private static final int FEATURES_OK = 0x8;

    private final Endianness defaultLegacyOrder;
    private final Endianness[] ringOrder;
    private final List<String> evidence = new ArrayList<>();
    private Kind kind = Kind.UNKNOWN;
    private long acked;
    private boolean featuresSet;
    private Endianness legacyOrder;
    private int status;
    private boolean earlyKickNoted;
    /**
     * Whether the next kick is evidence: the front-end told the status, DRIVER_OK is not in it, and no such kick
     * was noted yet. Read on every kick without the lock, so that once it is false a kick costs one read.
     */
    private volatile boolean kickIsEvidence;

    public DriverModel(int queues, Endianness defaultLegacyOrder) {
        this.defaultLegacyOrder = defaultLegacyOrder;
        this.legacyOrder = defaultLegacyOrder;
        this.ringOrder = new Endianness[queues];
    }

    public synchronized void reset() {
        kind = Kind.UNKNOWN;
        acked = 0;
        featuresSet = false;
        legacyOrder = defaultLegacyOrder;
        Arrays.fill(ringOrder, null);
        evidence.clear();
        status = 0;
        earlyKickNoted = false;
        kickIsEvidence = false;
    }

    /** SET_FEATURES: the acked set decides the kind. */
    public synchronized void featuresAcked(long features) {
        boolean modern = VirtioFeatures.has(features, VirtioFeatures.VERSION_1);
        Kind next = modern ? Kind.MODERN : Kind.LEGACY;
        if (!featuresSet || next != kind) {
            note(modern ? "VERSION_1 acked in SET_FEATURES: modern driver"
                    : "VERSION_1 not acked in SET_FEATURES: legacy driver");
        }
        kind = next;
        acked = features;
        featuresSet = true;
    }

    /**
     * A config read by a driver before any SET_FEATURES is what a legacy driver does first (it has no
     * FEATURES_OK). Only a read while the status says a driver is there counts: a front-end reads the config for
     * itself before any driver exists (QEMU's vhost-user-blk does so when the device is created), and that read
     * says nothing about the driver to come.
     */
    public synchronized void configRead() {
        if (!featuresSet && (status & DRIVER) != 0) {
            note("config space read by the driver before features were set");
        }
    }

    /** Whether a kick arriving now would be evidence; cheap enough for every kick (see {@link #kicked}). */
    public boolean kickIsEvidence() {
        return kickIsEvidence;
    }

    /**
     * A kick arrived on {@code queue}. Before DRIVER_OK it is what a legacy driver may do (it uses the device
     * before telling it is ready); the first such kick is noted. Called by the worker that took the kick, only
     * while {@link #kickIsEvidence()}.
     */
    public synchronized void kicked(int queue) {
        if (kickIsEvidence) {
            note("kick on queue " + queue + " before DRIVER_OK");
            earlyKickNoted = true;
            kickIsEvidence = false;
        }
    }

    public synchronized void status(int newStatus) {
        if (newStatus != 0 && (newStatus & DRIVER_OK) != 0 && (newStatus & FEATURES_OK) == 0
                && (status & FEATURES_OK) == 0) {
            note("DRIVER_OK without FEATURES_OK: legacy status sequence");
        }
        status = newStatus;
        kickIsEvidence = !earlyKickNoted && (newStatus & DRIVER_OK) == 0;
    }

    /**
     * Whether SET_VRING_ENDIAN with {@code order} is to be ignored: a modern driver is little-endian whatever it
     * asks, so a big order from it is noted and has no effect (and is no sign of a big-endian legacy driver).
     */
    public synchronized boolean ignoresRingEndian(int queue, Endianness order) {
        if (kind == Kind.MODERN && order == Endianness.BIG) {
            note("SET_VRING_ENDIAN queue " + queue + ": BIG ignored: VERSION_1 acked, the driver is little-endian");
            return true;
        }
        return false;
    }

    /** SET_VRING_ENDIAN for one ring; the order also becomes the device-wide one headers and config use. */
    public synchronized void ringEndian(int queue, Endianness order) {
        ringOrder[queue] = order;
        legacyOrder = order;
        note("SET_VRING_ENDIAN queue " + queue + ": " + order);
    }

    public synchronized Kind kind() {
        return kind;
    }

    public synchronized boolean legacy() {
        return kind == Kind.LEGACY;
    }

    public synchronized long ackedFeatures() {
        return acked;
    }

    public synchronized boolean featuresSet() {
        return featuresSet;
    }

    /** The order of device-wide structures: net and blk headers, config space. */
    public synchronized Endianness deviceOrder() {
        return kind == Kind.MODERN ? Endianness.LITTLE : legacyOrder;
    }

    /** The order of ring {@code queue}'s fields. */
    public synchronized Endianness ringOrder(int queue) {
        if (kind == Kind.MODERN) {
            return Endianness.LITTLE;
        }
        Endianness own = ringOrder[queue];
        return own != null ? own : legacyOrder;
    }

    public synchronized Snapshot snapshot() {
        List<Endianness> rings = new ArrayList<>(ringOrder.length);
        for (int i = 0; i < ringOrder.length; i++) {
            rings.add(ringOrder(i));
        }
        return new Snapshot(kind, acked, deviceOrder(), rings, List.copyOf(evidence));
    }

    private void note(String what) {
        if (evidence.size() < MAX_EVIDENCE) {
            evidence.add(what);
        }
    }
}

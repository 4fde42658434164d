package io.jvdpa.net;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A learning Ethernet switch joining the net devices of one process (IEEE 802.1D behaviour, without spanning
 * tree): it learns source addresses per port, forwards known unicast to one port, and floods broadcast,
 * multicast and unknown unicast to every other port. Entries age out after {@link #DEFAULT_AGING}.
 *
 * <p>Frames are forwarded on the sending device's worker thread and handed to each receiving device through
 * {@link GuestRx#post}: a lock-free queue and a wake-up of the receiver's worker.
 *
 * <p>Switches are found by name ({@link #named}), so devices started with the same {@code switch:NAME} meet.
 */
public final class L2Switch {
    public static final int MAX_PORTS = 64;
    public static final Duration DEFAULT_AGING = Duration.ofSeconds(300);
    private static final ConcurrentHashMap<String, L2Switch> NAMED = new ConcurrentHashMap<>();

    private final String name;
    private final MacTable table;
    private final AtomicReferenceArray<SwitchNetwork> ports = new AtomicReferenceArray<>(MAX_PORTS);
    private final AtomicLong forwarded = new AtomicLong();
    private final AtomicLong flooded = new AtomicLong();

    public L2Switch(String name, Duration aging) {
        this.name = name;
        this.table = new MacTable(4096, aging.toNanos());
    }

    /** The switch called {@code name} in this process, made on first use. */
    public static L2Switch named(String name) {
        return NAMED.computeIfAbsent(name, n -> new L2Switch(n, DEFAULT_AGING));
    }

    public String name() {
        return name;
    }

    /** Plugs a port in; returns its number. */
    synchronized int join(SwitchNetwork port) {
        for (int i = 0; i < MAX_PORTS; i++) {
            if (ports.get(i) == null) {
                ports.set(i, port);
                return i;
            }
        }
        throw new IllegalStateException("switch " + name + " has all " + MAX_PORTS + " ports in use");
    }

    synchronized void leave(int portNumber) {
        ports.set(portNumber, null);
        table.forget(portNumber);
    }

    /** Forwards {@code frame}, which came in on {@code from} (the sender's worker thread). */
    void forward(int from, Packet frame) {
        if (frame.length() < Packet.ETH_HEADER) {
            return;
        }
        long now = System.nanoTime();
        long src = frame.source();
        if (!MacAddress.isMulticast(src)) {
            table.learn(src, from, now);
        }
        long dst = frame.destination();
        if (!MacAddress.isMulticast(dst)) {
            int to = table.lookup(dst, now);
            if (to == from) {
                return; // the destination is behind the sender's own port
            }
            if (to >= 0) {
                SwitchNetwork target = ports.get(to);
                if (target != null) {
                    target.receive(frame);
                    forwarded.incrementAndGet();
                    return;
                }
            }
        }
        flooded.incrementAndGet();
        for (int i = 0; i < MAX_PORTS; i++) {
            if (i != from) {
                SwitchNetwork target = ports.get(i);
                if (target != null) {
                    target.receive(frame);
                }
            }
        }
    }

    /** The port a station was last seen on, -1 if unknown (for tests and management). */
    public int portOf(long mac) {
        return table.lookup(mac, System.nanoTime());
    }

    public long forwarded() {
        return forwarded.get();
    }

    public long flooded() {
        return flooded.get();
    }
}

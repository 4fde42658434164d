package io.jvdpa.cli.control;

import java.util.List;

/**
 * {@code dev stats}: per-queue counters, and the device's refusals. Kicks, calls and refusals count from the device's
 * creation; chains, bytes and errors are the running ring's, from its last start.
 *
 * @param refusals    driver set-ups refused by the profile
 * @param lastRefusal why the last one was refused, or null
 */
public record DeviceStats(String name, String type, List<QueueStats> queues, long refusals, String lastRefusal) {
    /**
     * @param calls        used buffer notifications sent to the driver
     * @param chains       descriptor chains taken from the ring
     * @param readBytes    bytes the device read from them
     * @param usedChains   chains given back
     * @param writtenBytes bytes written into them
     * @param errors       ring rule violations by the driver
     */
    public record QueueStats(int index, boolean started, long kicks, long calls, long chains, long readBytes,
                             long usedChains, long writtenBytes, long errors, boolean broken, String brokenReason) {}
}

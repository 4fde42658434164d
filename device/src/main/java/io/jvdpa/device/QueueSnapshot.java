package io.jvdpa.device;

import io.jvdpa.memory.Endianness;

/**
 * One queue as management sees it ({@code jvdpa dev stats}, {@code dev config show}). Kicks and notifications
 * count from the queue's creation; the other counters are the running ring's, from its last start. Read from
 * another thread they may be a little behind.
 *
 * @param size          entries set by SET_VRING_NUM (0 until the front-end sets it)
 * @param order         byte order of the ring's fields for the current driver
 * @param kicks         available buffer notifications received
 * @param notifications used buffer notifications sent (calls)
 * @param chains        descriptor chains popped
 * @param readBytes     device-readable bytes in those chains
 * @param usedChains    chains returned to the driver
 * @param writtenBytes  bytes reported written in used entries
 * @param errors        ring rule violations
 * @param brokenReason  why the ring is broken, or null
 */
public record QueueSnapshot(int index, int size, boolean started, boolean enabled, Endianness order, long kicks,
                            long notifications, long chains, long readBytes, long usedChains, long writtenBytes,
                            long errors, boolean broken, String brokenReason) {}

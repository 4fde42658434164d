package io.jvdpa.virtqueue;

/**
 * Per-queue counters. Only the queue's thread writes them; other threads read them for statistics and may see
 * values a little behind.
 */
public final class QueueCounters {
    long chains;
    long readableBytes;
    long usedChains;
    long usedBytes;
    long errors;
    long notifications;
    long notificationsSuppressed;
    long emptyPolls;

    /** Chains popped. */
    public long chains() {
        return chains;
    }

    /** Device-readable bytes in the chains popped. */
    public long readableBytes() {
        return readableBytes;
    }

    /** Used entries added. */
    public long usedChains() {
        return usedChains;
    }

    /** Bytes reported written in used entries. */
    public long usedBytes() {
        return usedBytes;
    }

    /** Ring rule violations (each one breaks the queue, so this is 0 or 1 until the queue is recreated). */
    public long errors() {
        return errors;
    }

    /** needsNotification() answers of true. */
    public long notifications() {
        return notifications;
    }

    /** needsNotification() answers of false because the driver suppressed them. */
    public long notificationsSuppressed() {
        return notificationsSuppressed;
    }

    /** pop() calls that found nothing. */
    public long emptyPolls() {
        return emptyPolls;
    }

    @Override
    public String toString() {
        return "QueueCounters[chains=%d, readableBytes=%d, used=%d, usedBytes=%d, errors=%d, notifications=%d, suppressed=%d, emptyPolls=%d]"
                .formatted(chains, readableBytes, usedChains, usedBytes, errors, notifications, notificationsSuppressed,
                        emptyPolls);
    }
}

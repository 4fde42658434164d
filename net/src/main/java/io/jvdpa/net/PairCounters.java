package io.jvdpa.net;

/** Per-queue-pair counters for a network: each pair's worker writes its own, readers sum them. */
final class PairCounters {
    private final Counters[] pairs = new Counters[VirtioNetDevice.MAX_QUEUE_PAIRS];

    PairCounters(int counters) {
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = new Counters(counters);
        }
    }

    Counters pair(int pair) {
        return pairs[pair];
    }

    long sum(int counter) {
        long total = 0;
        for (Counters c : pairs) {
            total += c.get(counter);
        }
        return total;
    }
}

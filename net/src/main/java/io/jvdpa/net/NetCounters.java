package io.jvdpa.net;

/**
 * What a net device counted since it was made, over all queue pairs. "tx" is what the guest transmitted (into
 * the network), "rx" what it received.
 *
 * @param txFrames   frames taken from transmit queues and handed to the network
 * @param txBytes    their bytes (without the virtio-net header)
 * @param txErrors   transmit buffers refused: too short, too long, bad offload request, network failure
 * @param rxFrames   frames put into receive buffers
 * @param rxBytes    their bytes
 * @param rxDropped  frames for the guest dropped: no room to queue them, too long for its buffers, or offloads
 *                   it did not negotiate
 * @param rxFiltered frames the guest's receive filter refused
 */
public record NetCounters(long txFrames, long txBytes, long txErrors, long rxFrames, long rxBytes, long rxDropped,
                          long rxFiltered) {
    /** One line for logs and the end-of-run summary. */
    public String summary() {
        return "tx-frames=%d tx-bytes=%d tx-errors=%d rx-frames=%d rx-bytes=%d rx-dropped=%d rx-filtered=%d"
                .formatted(txFrames, txBytes, txErrors, rxFrames, rxBytes, rxDropped, rxFiltered);
    }
}

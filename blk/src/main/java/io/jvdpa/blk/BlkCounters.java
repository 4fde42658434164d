package io.jvdpa.blk;

/** What one queue did; written by its worker thread only, read by others a little late. */
public final class BlkCounters {
    long reads;
    long writes;
    long flushes;
    long getIds;
    long discards;
    long writeZeroes;
    long bytesRead;
    long bytesWritten;
    long ioErrors;
    long unsupported;
    long unsupportedTypes;
    long unanswerable;

    public long reads() {
        return reads;
    }

    public long writes() {
        return writes;
    }

    public long flushes() {
        return flushes;
    }

    public long getIds() {
        return getIds;
    }

    public long discards() {
        return discards;
    }

    public long writeZeroes() {
        return writeZeroes;
    }

    public long bytesRead() {
        return bytesRead;
    }

    public long bytesWritten() {
        return bytesWritten;
    }

    /** Requests completed with S_IOERR. */
    public long ioErrors() {
        return ioErrors;
    }

    /** Requests completed with S_UNSUPP. */
    public long unsupported() {
        return unsupported;
    }

    /** Requests without a writable byte, returned without a status. */
    public long unanswerable() {
        return unanswerable;
    }

    /** Adds {@code other} into this one (for device totals). */
    void add(BlkCounters other) {
        reads += other.reads;
        writes += other.writes;
        flushes += other.flushes;
        getIds += other.getIds;
        discards += other.discards;
        writeZeroes += other.writeZeroes;
        bytesRead += other.bytesRead;
        bytesWritten += other.bytesWritten;
        ioErrors += other.ioErrors;
        unsupported += other.unsupported;
        unsupportedTypes += other.unsupportedTypes;
        unanswerable += other.unanswerable;
    }

    public String summary() {
        return "reads %d (%d bytes), writes %d (%d bytes), flushes %d, discards %d, write-zeroes %d, get-id %d, errors %d, unsupported %d, unanswerable %d"
                .formatted(reads, bytesRead, writes, bytesWritten, flushes, discards, writeZeroes, getIds, ioErrors,
                        unsupported, unanswerable);
    }
}

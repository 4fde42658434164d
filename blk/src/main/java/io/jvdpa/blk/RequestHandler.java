package io.jvdpa.blk;

import static io.jvdpa.blk.VirtioBlk.DISCARD_SEGMENT_SIZE;
import static io.jvdpa.blk.VirtioBlk.HEADER_SIZE;
import static io.jvdpa.blk.VirtioBlk.SECTOR_SHIFT;
import static io.jvdpa.blk.VirtioBlk.SECTOR_SIZE;
import static io.jvdpa.blk.VirtioBlk.S_IOERR;
import static io.jvdpa.blk.VirtioBlk.S_OK;
import static io.jvdpa.blk.VirtioBlk.S_UNSUPP;

import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.IoVec;
import io.jvdpa.sys.LinuxException;
import io.jvdpa.virtqueue.ChainReader;
import io.jvdpa.virtqueue.ChainWriter;
import io.jvdpa.virtqueue.DescriptorChain;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes virtio-blk requests of one queue (VIRTIO 1.2 §5.2.6): checks each request, moves data straight between
 * the image file and the request's guest buffers (one preadv / pwritev per request), and writes the status byte.
 *
 * <p>A request is laid out however the driver likes (header, data and status in one descriptor or each in its
 * own, the legacy framing): only the order matters, the header first among the readable bytes, the status byte
 * last among the writable ones. A request that breaks a rule completes with {@code S_IOERR} ({@code S_UNSUPP} for
 * a type this device does not implement) and touches nothing; the queue carries on.
 *
 * <p>{@code S_OK} means every file operation of the request has returned, and in writethrough the fdatasync
 * after it: one that fails part way (a write that runs out of space after its first part, a later segment of a
 * list) completes the request with {@code S_IOERR}, whatever part of it reached the file.
 *
 * <p>Runs on its queue's worker thread; nothing allocates per request except on error paths.
 */
final class RequestHandler {
    private static final Logger LOG = LoggerFactory.getLogger(RequestHandler.class);
    /** Bad requests logged at warning level per queue; the rest go to debug. */
    private static final int WARNINGS = 10;
    /** A request returned without a status: it has nowhere to put one. */
    private static final int NO_STATUS = -1;

    private final BlkImage image;
    private final CacheState cache;
    private final byte[] id;
    private final String label;
    private final IoVec iov = new IoVec(IoVec.MAX);
    private final IoVec zeros = new IoVec(64);
    final DescriptorChain chain = new DescriptorChain();
    final BlkCounters counters = new BlkCounters();
    private Endianness order = Endianness.LITTLE;
    private long features;
    private long capacity;
    private String lastError;

    RequestHandler(BlkImage image, CacheState cache, byte[] id, String label) {
        this.image = image;
        this.cache = cache;
        this.id = id;
        this.label = label;
        this.capacity = image.capacity();
    }

    /** The negotiated byte order of headers and the acked features, fixed while the queue runs. */
    void start(Endianness headerOrder, long ackedFeatures) {
        this.order = headerOrder;
        this.features = ackedFeatures;
        this.capacity = image.capacity();
    }

    /**
     * Executes the request in {@code c} and writes its status. Returns the used length: every writable byte
     * (data and status), or 0 when the request has no writable byte to put a status in.
     */
    int handle(DescriptorChain c) {
        long writable = c.writableBytes();
        if (writable == 0) {
            counters.unanswerable++;
            complain(NO_STATUS, "request %d has no writable byte for its status (VIRTIO 1.2 §5.2.6)", c.headId());
            return 0;
        }
        int status;
        try {
            status = execute(c, writable);
        } catch (LinuxException e) {
            status = reject("request %d failed on %s: %s", c.headId(), image.path(), e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("{}: request {} failed unexpectedly", label, c.headId(), e);
            status = S_IOERR;
        }
        if (status == S_IOERR) {
            counters.ioErrors++;
        } else if (status == S_UNSUPP) {
            counters.unsupported++;
        }
        ChainWriter w = c.writer();
        w.skip(writable - 1 - w.bytesWritten());
        w.writeU8(status);
        return (int) w.bytesWritten();
    }

    private int execute(DescriptorChain c, long writable) throws LinuxException {
        long readable = c.readableBytes();
        if (readable < HEADER_SIZE) {
            return reject("request %d has %d readable bytes, less than the %d-byte header (VIRTIO 1.2 §5.2.6)",
                    c.headId(), readable, HEADER_SIZE);
        }
        ChainReader r = c.reader();
        int type = (int) r.readU32(order);
        r.skip(4);
        long sector = r.readU64(order);
        long dataOut = readable - HEADER_SIZE;
        long dataIn = writable - 1;
        int status = switch (type) {
            case VirtioBlk.T_IN -> read(c, sector, dataOut, dataIn);
            case VirtioBlk.T_OUT -> write(c, sector, dataOut);
            case VirtioBlk.T_FLUSH -> flush(c, dataOut);
            case VirtioBlk.T_GET_ID -> getId(c, dataOut, dataIn);
            case VirtioBlk.T_DISCARD -> discardOrZero(c, dataOut, false);
            case VirtioBlk.T_WRITE_ZEROES -> discardOrZero(c, dataOut, true);
            default -> {
                counters.unsupportedTypes++;
                yield unsupported("request %d has type %d, which this device does not implement", c.headId(),
                        Integer.toUnsignedLong(type));
            }
        };
        if (status == S_OK && changesImage(type) && cache.writethrough()) {
            image.flush();
        }
        return status;
    }

    /**
     * The request types that change the image: in writethrough each is on stable storage before it completes,
     * whatever the type (a punched hole or zeroed range is as much the guest's data as a write).
     */
    private static boolean changesImage(int type) {
        return type == VirtioBlk.T_OUT || type == VirtioBlk.T_DISCARD || type == VirtioBlk.T_WRITE_ZEROES;
    }

    private int read(DescriptorChain c, long sector, long dataOut, long dataIn) throws LinuxException {
        if (dataOut != 0) {
            return reject("read request %d carries %d bytes of device-readable data after its header", c.headId(), dataOut);
        }
        int bad = checkData(c, sector, dataIn, "read");
        if (bad != S_OK) {
            return bad;
        }
        if (!gather(c, c.firstWritable(), c.segmentCount(), 0, dataIn)) {
            return reject("read request %d has more than %d segments", c.headId(), (long) iov.capacity());
        }
        long n = dataIn == 0 ? 0 : image.read(iov, sector << SECTOR_SHIFT);
        if (n != dataIn) {
            return reject("read request %d: %d of %d bytes at sector %d (the image file shrank?)", c.headId(), n,
                    dataIn, sector);
        }
        c.writer().advance(dataIn);
        counters.reads++;
        counters.bytesRead += dataIn;
        return S_OK;
    }

    private int write(DescriptorChain c, long sector, long dataOut) throws LinuxException {
        if (image.readOnly()) {
            return reject("write request %d to a read-only device", c.headId());
        }
        int bad = checkData(c, sector, dataOut, "write");
        if (bad != S_OK) {
            return bad;
        }
        if (!gather(c, 0, c.readableSegments(), HEADER_SIZE, dataOut)) {
            return reject("write request %d has more than %d segments", c.headId(), (long) iov.capacity());
        }
        if (dataOut != 0) {
            image.write(iov, sector << SECTOR_SHIFT);
        }
        counters.writes++;
        counters.bytesWritten += dataOut;
        return S_OK;
    }

    private int flush(DescriptorChain c, long dataOut) throws LinuxException {
        if (dataOut != 0) {
            return reject("flush request %d carries %d bytes of data", c.headId(), dataOut);
        }
        image.flush();
        counters.flushes++;
        return S_OK;
    }

    private int getId(DescriptorChain c, long dataOut, long dataIn) {
        if (dataOut != 0) {
            return reject("get-id request %d carries %d bytes of data", c.headId(), dataOut);
        }
        c.writer().write(id, 0, (int) Math.min(id.length, dataIn));
        counters.getIds++;
        return S_OK;
    }

    /**
     * DISCARD and WRITE_ZEROES: a list of {sector, num_sectors, flags} segments. Every segment is checked before
     * any is carried out, so a bad list changes nothing.
     */
    private int discardOrZero(DescriptorChain c, long dataOut, boolean zeroes) throws LinuxException {
        String what = zeroes ? "write-zeroes" : "discard";
        if (!VirtioBlk.has(features, zeroes ? VirtioBlk.F_WRITE_ZEROES : VirtioBlk.F_DISCARD)) {
            return unsupported("%s request %d, but the feature was not negotiated", what, (long) c.headId());
        }
        if (image.readOnly()) {
            return reject("%s request %d to a read-only device", what, c.headId());
        }
        if (dataOut == 0 || dataOut % DISCARD_SEGMENT_SIZE != 0) {
            return reject("%s request %d has %d bytes of segments, not a non-zero multiple of 16", what, c.headId(), dataOut);
        }
        long segments = dataOut / DISCARD_SEGMENT_SIZE;
        if (segments > BlkConfigSpace.MAX_DISCARD_SEGMENTS) {
            return reject("%s request %d has %d segments, more than the %d announced", what, c.headId(), segments,
                    (long) BlkConfigSpace.MAX_DISCARD_SEGMENTS);
        }
        ChainReader r = c.reader();
        for (long i = 0; i < segments; i++) {
            long sector = r.readU64(order);
            long count = r.readU32(order);
            long flags = r.readU32(order);
            if ((flags & ~VirtioBlk.DWZ_F_UNMAP) != 0 || (!zeroes && flags != 0)) {
                return unsupported("%s request %d: segment flags 0x%x", what, c.headId(), flags);
            }
            if (count > BlkConfigSpace.MAX_DISCARD_SECTORS_VALUE) {
                return reject("%s request %d: segment of %d sectors, more than the %d announced", what, c.headId(),
                        count, (long) BlkConfigSpace.MAX_DISCARD_SECTORS_VALUE);
            }
            if (!inRange(sector, count)) {
                return reject("%s request %d: sectors [%s, +%d) outside the disk of %d", what, c.headId(),
                        Long.toUnsignedString(sector), count, capacity);
            }
        }
        r.rewind();
        r.skip(HEADER_SIZE);
        for (long i = 0; i < segments; i++) {
            long offset = r.readU64(order) << SECTOR_SHIFT;
            long length = r.readU32(order) << SECTOR_SHIFT;
            boolean unmap = (r.readU32(order) & VirtioBlk.DWZ_F_UNMAP) != 0;
            if (length == 0) {
                continue;
            }
            if (zeroes) {
                image.writeZeroes(offset, length, unmap, this.zeros);
            } else {
                image.discard(offset, length);
            }
        }
        if (zeroes) {
            counters.writeZeroes++;
        } else {
            counters.discards++;
        }
        return S_OK;
    }

    /** Length a multiple of 512 and [sector, sector + length/512) inside the disk, without overflow. */
    private int checkData(DescriptorChain c, long sector, long length, String what) {
        if (length % SECTOR_SIZE != 0) {
            return reject("%s request %d of %d bytes, not a multiple of 512 (VIRTIO 1.2 §5.2.6.1)", what, c.headId(), length);
        }
        if (!inRange(sector, length >>> SECTOR_SHIFT)) {
            return reject("%s request %d: sectors [%s, +%d) outside the disk of %d", what, c.headId(),
                    Long.toUnsignedString(sector), length >>> SECTOR_SHIFT, capacity);
        }
        return S_OK;
    }

    private boolean inRange(long sector, long sectors) {
        return Long.compareUnsigned(sector, capacity) <= 0 && Long.compareUnsigned(sectors, capacity - sector) <= 0;
    }

    /**
     * Fills {@link #iov} with {@code length} bytes of segments {@code [first, end)} after skipping {@code skip}
     * bytes: a request's data as the kernel should see it, without copying.
     */
    private boolean gather(DescriptorChain c, int first, int end, long skip, long length) {
        iov.clear();
        long toSkip = skip;
        long left = length;
        for (int i = first; i < end && left > 0; i++) {
            long segLength = c.segmentLength(i);
            if (toSkip >= segLength) {
                toSkip -= segLength;
                continue;
            }
            if (iov.count() == iov.capacity()) {
                return false;
            }
            long piece = Math.min(segLength - toSkip, left);
            iov.add(c.segmentBase(i), c.segmentOffset(i) + toSkip, piece);
            toSkip = 0;
            left -= piece;
        }
        return left == 0;
    }

    /** Error paths only: formatting allocates. */
    private int reject(String format, Object... args) {
        return complain(S_IOERR, format, args);
    }

    private int unsupported(String format, Object... args) {
        return complain(S_UNSUPP, format, args);
    }

    private int complain(int status, String format, Object... args) {
        String message = format.formatted(args);
        lastError = message;
        long bad = counters.ioErrors + counters.unsupported + counters.unanswerable;
        if (bad < WARNINGS) {
            LOG.warn("{}: {} ({})", label, message, outcome(status));
        } else {
            LOG.debug("{}: {} ({})", label, message, outcome(status));
        }
        return status;
    }

    private static String outcome(int status) {
        return switch (status) {
            case S_UNSUPP -> "S_UNSUPP";
            case NO_STATUS -> "returned without a status";
            default -> "S_IOERR";
        };
    }

    /** The last bad request's description, for management and tests. */
    String lastError() {
        return lastError;
    }
}

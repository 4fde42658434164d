package io.jvdpa.cli.probe;

import io.jvdpa.memory.Endianness;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.VhostUserException;
import io.jvdpa.virtqueue.UsedBuffer;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Blk: a GET_ID request, or where that is not supported a read of sector 1. Both put multi-byte fields in the
 * request header in the driver's byte order, so an OK status proves the back-end read the header in that order.
 * Header, data and status travel in separate descriptors (legacy framing suits every back-end).
 */
final class BlkExchange implements Exchange {
    private static final int T_IN = 0;
    private static final int T_GET_ID = 8;
    private static final int S_OK = 0;
    private static final int S_UNSUPP = 2;
    private static final int ID_BYTES = 20;

    @Override
    public String run(DriverSession s, DriverKind kind, Duration timeout)
            throws IOException, VhostUserException, ExchangeFailed {
        DriverRing ring = s.setUpRing(0, 64, kind.order);
        s.driverOk();
        Endianness order = kind.modern ? Endianness.LITTLE : kind.order;
        long header = s.ram().allocate(16, 16);
        long data = s.ram().allocate(512, 512);
        long status = s.ram().allocate(16, 16);

        int st = request(s, ring, order, T_GET_ID, 0, header, data, ID_BYTES, status, timeout);
        if (st == S_OK) {
            byte[] id = s.ram().at(data, ID_BYTES).toArray(ValueLayout.JAVA_BYTE);
            int n = 0;
            while (n < id.length && id[n] != 0) {
                n++;
            }
            return "GET_ID answered OK (serial '" + new String(id, 0, n, StandardCharsets.US_ASCII) + "')";
        }
        if (st != S_UNSUPP) {
            throw new ExchangeFailed("GET_ID completed with status " + statusName(st));
        }
        st = request(s, ring, order, T_IN, 1, header, data, 512, status, timeout);
        if (st != S_OK) {
            throw new ExchangeFailed("GET_ID is unsupported and a read of sector 1 completed with status " + statusName(st));
        }
        return "a read of sector 1 answered OK (GET_ID unsupported)";
    }

    private static int request(DriverSession s, DriverRing ring, Endianness order, int type, long sector, long header,
                               long data, int dataLength, long status, Duration timeout) throws ExchangeFailed {
        MemorySegment h = s.ram().at(header, 16);
        h.fill((byte) 0);
        order.putU32(h, 0, type);
        order.putU64(h, 8, sector);
        s.ram().at(status, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) 0xff);
        ring.queue().post(new long[] {header, data, status}, new int[] {16, dataLength, 1}, 1, 2, type);
        try {
            ring.publishAndKick();
        } catch (io.jvdpa.sys.LinuxException e) {
            throw new ExchangeFailed("kick failed: " + e.getMessage());
        }
        UsedBuffer used = new UsedBuffer();
        if (!Exchange.awaitUsed(ring, used, timeout)) {
            throw new ExchangeFailed((type == T_GET_ID ? "GET_ID" : "a read") + " was not completed within "
                    + timeout.toMillis() + " ms");
        }
        return s.ram().at(status, 1).get(ValueLayout.JAVA_BYTE, 0) & 0xff;
    }

    private static String statusName(int st) {
        return switch (st) {
            case 0 -> "OK";
            case 1 -> "IOERR";
            case 2 -> "UNSUPP";
            case 0xff -> "unwritten (the status byte was never set)";
            default -> String.valueOf(st);
        };
    }
}

package io.jvdpa.cli.control;

import io.jvdpa.sys.UnixSocket;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/** Newline-terminated UTF-8 messages over a connected Unix socket: the control protocol's framing. */
final class LineChannel implements AutoCloseable {
    /** A request or response larger than this is not a control message. */
    static final int MAX_LINE = 1 << 20;

    private final UnixSocket socket;
    // Auto arena: a thread still blocked in recv when another closes the socket keeps the buffer alive.
    private final MemorySegment buffer = Arena.ofAuto().allocate(8192);
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    LineChannel(UnixSocket socket) {
        this.socket = socket;
    }

    UnixSocket socket() {
        return socket;
    }

    /** The next line without its newline; null when the peer closed before sending one. */
    String readLine() throws IOException {
        while (true) {
            byte[] have = pending.toByteArray();
            for (int i = 0; i < have.length; i++) {
                if (have[i] == '\n') {
                    pending.reset();
                    pending.write(have, i + 1, have.length - i - 1);
                    return new String(have, 0, i, StandardCharsets.UTF_8);
                }
            }
            if (have.length > MAX_LINE) {
                throw new IOException("control message longer than " + MAX_LINE + " bytes");
            }
            int n = socket.recv(buffer);
            if (n <= 0) {
                if (have.length > 0) {
                    throw new IOException("peer closed in the middle of a message (" + have.length + " bytes)");
                }
                return null;
            }
            pending.write(buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    void writeLine(String line) throws IOException {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try (Arena once = Arena.ofConfined()) {
            MemorySegment out = once.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, out, ValueLayout.JAVA_BYTE, 0, bytes.length);
            socket.send(out);
        }
    }

    @Override
    public void close() {
        socket.close();
    }
}

package io.jvdpa.it.manage;

import io.jvdpa.sys.UnixSocket;
import io.jvdpa.testing.OutputCapture;
import io.jvdpa.testing.TestLogs;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * A guest's serial console on a Unix socket (a libvirt {@code <serial type='unix'>}): sends shell commands and
 * waits for what they print. The guest images' shell does not echo, so only output comes back.
 */
final class UnixConsole implements AutoCloseable {
    private final UnixSocket socket;
    private final OutputCapture output;

    private UnixConsole(UnixSocket socket, OutputCapture output) {
        this.socket = socket;
        this.output = output;
    }

    static UnixConsole connect(Path path, Duration timeout) throws IOException {
        UnixSocket s = UnixSocket.connect(path, timeout);
        MemorySegment buffer = Arena.ofAuto().allocate(4096);
        InputStream in = new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = s.recv(buffer.asSlice(0, Math.min(len, (int) buffer.byteSize())));
                if (n <= 0) {
                    return -1;
                }
                MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, 0, b, off, n);
                return n;
            }
        };
        return new UnixConsole(s, OutputCapture.start("console", TestLogs.newDirectory("libvirt-console")
                .resolve("console.log"), in));
    }

    void send(String line) throws IOException {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, m, ValueLayout.JAVA_BYTE, 0, bytes.length);
            socket.send(m);
        }
    }

    /** Sends {@code line} every two seconds until {@code pattern} shows up (the shell may not be up yet). */
    String sendUntil(String line, Pattern pattern, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long from = output.position();
            send(line);
            try {
                return output.await(pattern, from, Duration.ofSeconds(2), () -> null).group(0);
            } catch (RuntimeException notYet) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the console did not answer '" + line + "' within " + timeout
                            + "; console so far:\n" + output.tail(3000), notYet);
                }
            }
        }
    }

    /** Runs {@code command} and returns its exit status (printed after it under a marker). */
    int run(String command, Duration timeout) throws IOException {
        long from = output.position();
        send(command + "; echo \"status=$?=\"");
        return Integer.parseInt(output.await(Pattern.compile("status=(\\d+)="), from, timeout, () -> null).group(1));
    }

    String text() {
        return output.text();
    }

    @Override
    public void close() {
        socket.close();
        output.awaitEnd(Duration.ofSeconds(2));
    }
}

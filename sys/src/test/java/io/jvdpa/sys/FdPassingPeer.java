package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The other process in the fd-passing test: connects to the socket path in args[0], receives a memfd,
 * writes a line into it through its own mapping, and sends back a memfd of its own that it filled.
 */
public final class FdPassingPeer {
    public static void main(String[] args) throws Exception {
        try (UnixSocket socket = UnixSocket.connect(Path.of(args[0]), Duration.ofSeconds(10));
             Arena arena = Arena.ofConfined();
             ReceivedFds fds = new ReceivedFds()) {
            MemorySegment header = arena.allocate(8);
            if (!socket.recvExactly(header, fds)) throw new IllegalStateException("parent closed early");
            long size = header.get(ValueLayout.JAVA_LONG, 0);
            try (Fd theirs = fds.take(0); Mapping mapping = Mapping.map(theirs, 0, size)) {
                byte[] text = ("written by pid " + ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8);
                MemorySegment.copy(text, 0, mapping.segment(), ValueLayout.JAVA_BYTE, 0, text.length);
            }
            try (Fd ours = MemFd.create("peer", 4096); Mapping mapping = Mapping.map(ours, 0, 4096)) {
                mapping.segment().setString(0, "memfd of pid " + ProcessHandle.current().pid());
                socket.send(header, ours.value());
            }
            // wait for the parent to be done before exiting, so the test sees an orderly close
            socket.recv(header);
        }
    }
}

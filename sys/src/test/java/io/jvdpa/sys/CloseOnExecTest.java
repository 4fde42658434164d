package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every kind of descriptor this module creates has close-on-exec set, as {@link Fd} promises: a process the
 * back-end starts (a helper, QEMU under a harness) must not inherit guest memory, sockets or a TAP queue.
 */
@SuppressWarnings("try") // resources held open only for their effect
@Timeout(30)
class CloseOnExecTest {
    @TempDir
    Path dir;

    @Test
    void everyKindOfDescriptorIsCloseOnExec() throws Exception {
        Path path = dir.resolve("cloexec.sock");
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixServerSocket server = UnixServerSocket.bind(path);
             UnixSocket client = UnixSocket.connect(path);
             UnixSocket accepted = server.accept();
             UnixSocket pair0 = pair[0];
             UnixSocket pair1 = pair[1];
             EventFd eventFd = EventFd.create();
             Epoll epoll = Epoll.create();
             Fd memfd = MemFd.create("cloexec", 4096);
             Fd file = Fd.open(dir.resolve("file"), OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600);
             Fd duplicate = file.duplicate();
             Tap tap = Tap.open(null, 0, false);
             ReceivedFds received = new ReceivedFds();
             Arena arena = Arena.ofConfined()) {
            pair0.send(arena.allocate(1), memfd.value());
            assertThat(pair1.recv(arena.allocate(1), received)).isEqualTo(1);

            Map<String, Integer> kinds = new LinkedHashMap<>();
            kinds.put("unix server socket", server.fd().value());
            kinds.put("accepted socket", accepted.fd().value());
            kinds.put("client socket", client.fd().value());
            kinds.put("socketpair end", pair0.fd().value());
            kinds.put("socketpair other end", pair1.fd().value());
            kinds.put("eventfd", eventFd.fd().value());
            kinds.put("epoll", epoll.fd().value());
            kinds.put("memfd", memfd.value());
            kinds.put("opened file", file.value());
            kinds.put("duplicate", duplicate.value());
            kinds.put("tap", tap.fd().value());
            kinds.put("received over SCM_RIGHTS", received.peek(0));

            Map<String, String> without = new LinkedHashMap<>();
            kinds.forEach((kind, fd) -> {
                int flags = ProcSelf.fdFlags(fd);
                if ((flags & OpenFlags.O_CLOEXEC) == 0) {
                    without.put(kind, "fd " + fd + ", flags 0" + Integer.toOctalString(flags));
                }
            });
            assertThat(without).as("descriptors without O_CLOEXEC").isEmpty();
        }
    }
}

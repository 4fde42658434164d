package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/** poll(2) on one descriptor, for the rare waits that are not on a hot path. */
final class Poll {
    private Poll() {}

    static final short POLLIN = 0x1;
    static final short POLLOUT = 0x4;

    /**
     * Waits until {@code fd} is ready for {@code events} or {@code timeoutMillis} pass (-1: forever).
     * Returns the ready events (revents), 0 on timeout. EINTR restarts the wait with the full timeout.
     */
    static int await(int fd, short events, int timeoutMillis) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollfd = arena.allocate(8, 4); // struct pollfd { int fd; short events; short revents; }
            pollfd.set(JAVA_INT, 0, fd);
            pollfd.set(JAVA_SHORT, 4, events);
            while (true) {
                int n = Libc.poll(pollfd, 1, timeoutMillis);
                if (n > 0) return pollfd.get(JAVA_SHORT, 6);
                if (n == 0) return 0;
                int errno = Libc.errno();
                if (errno != Errno.EINTR) throw new LinuxException("poll", "fd=" + fd, errno);
            }
        }
    }
}

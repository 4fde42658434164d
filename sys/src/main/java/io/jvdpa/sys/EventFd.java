package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * An eventfd(2) counter: the kick and call notifications of a virtqueue.
 *
 * <p>{@link #signal()} and {@link #drain()} use native buffers made once per instance and allocate nothing.
 * Several threads may signal at once; one thread at a time may drain.
 */
public final class EventFd implements AutoCloseable {
    private static final int EFD_NONBLOCK = 04000;
    private static final int EFD_CLOEXEC = 02000000;

    private final Fd fd;
    /** Holds 1 forever: shared by concurrent signals, never written after construction. */
    private final MemorySegment one;
    private final MemorySegment drained;

    private EventFd(Fd fd) {
        this.fd = fd;
        Arena arena = Arena.ofAuto();
        this.one = arena.allocate(JAVA_LONG);
        this.one.set(JAVA_LONG, 0, 1L);
        this.drained = arena.allocate(JAVA_LONG);
    }

    /** A new non-blocking eventfd with count 0. */
    public static EventFd create() throws LinuxException {
        int fd = Libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) throw new LinuxException("eventfd", "EFD_NONBLOCK|EFD_CLOEXEC", Libc.errno());
        return new EventFd(Fd.adopt(fd));
    }

    /**
     * Takes ownership of an eventfd made elsewhere, e.g. one a vhost-user front-end sent. Its flags are left
     * as they are (they are shared with the sender): if it is blocking, {@link #drain()} waits for a signal.
     */
    public static EventFd adopt(Fd fd) {
        return new EventFd(fd);
    }

    /** Adds 1 to the counter, waking whoever waits on it. A counter already at its maximum stays signalled. */
    public void signal() throws LinuxException {
        int value = fd.value();
        while (Libc.write(value, one, 8) < 0) {
            int errno = Libc.errno();
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.EAGAIN) return; // counter saturated: the reader is woken anyway
            throw new LinuxException("write", "eventfd " + value, errno);
        }
    }

    /** Reads and resets the counter: how many signals arrived since the last drain, 0 if none. */
    public long drain() throws LinuxException {
        int value = fd.value();
        while (Libc.read(value, drained, 8) < 0) {
            int errno = Libc.errno();
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.EAGAIN) return 0;
            throw new LinuxException("read", "eventfd " + value, errno);
        }
        return drained.get(JAVA_LONG, 0);
    }

    /** The descriptor, e.g. to register with {@link Epoll} or send to a peer. Still owned here. */
    public Fd fd() {
        return fd;
    }

    public boolean isOpen() {
        return fd.isOpen();
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "EventFd[" + fd + "]";
    }
}

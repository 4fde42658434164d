package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * An epoll(7) instance: waits on many descriptors and tells which are ready by the token each was
 * registered with.
 *
 * <p>{@link #wait(int)} fills an events array made once, read through {@link #token(int)} and
 * {@link #events(int)}, and allocates nothing. One thread at a time waits; registrations may come from any
 * thread. Closing does not wake a thread blocked in {@link #wait(int)}: register an {@link EventFd} and signal
 * it to stop a waiter first.
 */
public final class Epoll implements AutoCloseable {
    public static final int EPOLLIN = 0x001;
    public static final int EPOLLPRI = 0x002;
    public static final int EPOLLOUT = 0x004;
    public static final int EPOLLERR = 0x008;
    public static final int EPOLLHUP = 0x010;
    public static final int EPOLLRDHUP = 0x2000;
    public static final int EPOLLEXCLUSIVE = 1 << 28;
    public static final int EPOLLONESHOT = 1 << 30;
    public static final int EPOLLET = 1 << 31;

    private static final int EPOLL_CLOEXEC = 02000000;
    private static final int EPOLL_CTL_ADD = 1;
    private static final int EPOLL_CTL_DEL = 2;
    private static final int EPOLL_CTL_MOD = 3;

    /** struct epoll_event: packed on x86_64, 12 bytes, so data sits unaligned at offset 4. */
    static final StructLayout EPOLL_EVENT = MemoryLayout.structLayout(
            JAVA_INT.withName("events"),
            JAVA_LONG_UNALIGNED.withName("data"));
    private static final long EVENTS = EPOLL_EVENT.byteOffset(groupElement("events"));
    private static final long DATA = EPOLL_EVENT.byteOffset(groupElement("data"));
    private static final long EVENT_SIZE = EPOLL_EVENT.byteSize();

    private final Fd fd;
    private final MemorySegment ready;
    private final int capacity;
    private final MemorySegment control;
    private int count;

    private Epoll(Fd fd, int capacity) {
        this.fd = fd;
        this.capacity = capacity;
        Arena arena = Arena.ofAuto();
        this.ready = arena.allocate(EVENT_SIZE * capacity, 8);
        this.control = arena.allocate(EPOLL_EVENT);
    }

    /** An epoll instance reporting up to 64 ready descriptors per wait. */
    public static Epoll create() throws LinuxException {
        return create(64);
    }

    /** An epoll instance reporting up to {@code maxEvents} ready descriptors per wait. */
    public static Epoll create(int maxEvents) throws LinuxException {
        if (maxEvents < 1) throw new IllegalArgumentException("maxEvents must be positive, was " + maxEvents);
        int fd = Libc.epollCreate1(EPOLL_CLOEXEC);
        if (fd < 0) throw new LinuxException("epoll_create1", "EPOLL_CLOEXEC", Libc.errno());
        return new Epoll(Fd.adopt(fd), maxEvents);
    }

    /** Watches {@code target} for {@code events} (e.g. {@link #EPOLLIN}); {@link #token(int)} reports {@code token}. */
    public void add(Fd target, int events, long token) throws LinuxException {
        control(EPOLL_CTL_ADD, "EPOLL_CTL_ADD", target, events, token);
    }

    /** Changes the events and token of a watched descriptor. */
    public void modify(Fd target, int events, long token) throws LinuxException {
        control(EPOLL_CTL_MOD, "EPOLL_CTL_MOD", target, events, token);
    }

    /** Stops watching {@code target}. Remove a descriptor before closing it. */
    public void remove(Fd target) throws LinuxException {
        control(EPOLL_CTL_DEL, "EPOLL_CTL_DEL", target, 0, 0);
    }

    private synchronized void control(int op, String opName, Fd target, int events, long token)
            throws LinuxException {
        int epfd = fd.value();
        int value = target.value();
        control.set(JAVA_INT, EVENTS, events);
        control.set(JAVA_LONG_UNALIGNED, DATA, token);
        if (Libc.epollCtl(epfd, op, value, control) < 0) {
            throw new LinuxException("epoll_ctl", "epfd=" + epfd + ", " + opName + ", fd=" + value + ", events=0x"
                    + Integer.toHexString(events), Libc.errno());
        }
    }

    /**
     * Waits for ready descriptors.
     *
     * @param timeoutMillis -1 waits forever, 0 only looks
     * @return how many are ready (indexes for {@link #token(int)} and {@link #events(int)}); 0 on timeout or
     *         when a signal interrupted the wait (EINTR), so callers simply loop
     */
    public int wait(int timeoutMillis) throws LinuxException {
        int epfd = fd.value();
        int n = Libc.epollWait(epfd, ready, capacity, timeoutMillis);
        if (n < 0) {
            int errno = Libc.errno();
            if (errno != Errno.EINTR) throw new LinuxException("epoll_wait", "epfd=" + epfd, errno);
            n = 0;
        }
        count = n;
        return n;
    }

    /** The token of ready descriptor {@code i} of the last {@link #wait(int)}. */
    public long token(int i) {
        return ready.get(JAVA_LONG_UNALIGNED, checkIndex(i) * EVENT_SIZE + DATA);
    }

    /** The ready events (EPOLLIN, EPOLLHUP, ...) of descriptor {@code i} of the last {@link #wait(int)}. */
    public int events(int i) {
        return ready.get(JAVA_INT, checkIndex(i) * EVENT_SIZE + EVENTS);
    }

    private long checkIndex(int i) {
        if (i < 0 || i >= count) throw new IndexOutOfBoundsException("event " + i + " of " + count + " ready");
        return i;
    }

    public Fd fd() {
        return fd;
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "Epoll[" + fd + "]";
    }
}

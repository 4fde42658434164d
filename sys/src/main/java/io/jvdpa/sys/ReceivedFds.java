package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Descriptors that arrived with {@link UnixSocket#recv}: owned here until {@link #take taken}, closed by
 * {@link #clear()} or {@link #close()} otherwise, so a descriptor a peer sends never leaks.
 *
 * <p>It also holds the control buffer recvmsg fills, sized for {@link #capacity()} descriptors: a peer that
 * sends more than that is caught by MSG_CTRUNC. Reuse one instance per connection; not thread-safe.
 */
public final class ReceivedFds implements AutoCloseable {
    private final int[] fds;
    private int count;
    final MemorySegment control;

    /** Room for {@link UnixSocket#MAX_FDS} descriptors. */
    public ReceivedFds() {
        this(UnixSocket.MAX_FDS);
    }

    public ReceivedFds(int capacity) {
        if (capacity < 1 || capacity > 253) {
            throw new IllegalArgumentException("capacity must be 1..253 (SCM_MAX_FD), was " + capacity);
        }
        this.fds = new int[capacity];
        this.control = Arena.ofAuto().allocate(SocketLayouts.cmsgSpace(4L * capacity), 8);
        Arrays.fill(fds, -1);
    }

    public int capacity() {
        return fds.length;
    }

    /** How many descriptors arrived since the last {@link #clear()}, taken or not. */
    public int count() {
        return count;
    }

    /** Takes ownership of descriptor {@code i} (in arrival order); the caller closes it. */
    public Fd take(int i) {
        int fd = fds[checkIndex(i)];
        if (fd < 0) throw new IllegalStateException("received descriptor " + i + " was already taken");
        fds[i] = -1;
        return Fd.adopt(fd);
    }

    /** The number of descriptor {@code i}, still owned here; -1 once taken. */
    public int peek(int i) {
        return fds[checkIndex(i)];
    }

    /** Closes every descriptor not taken and forgets them all. */
    public void clear() {
        for (int i = 0; i < count; i++) {
            if (fds[i] >= 0) Libc.close(fds[i]);
            fds[i] = -1;
        }
        count = 0;
    }

    @Override
    public void close() {
        clear();
    }

    /** Bytes of control buffer left for the descriptors that still fit. */
    long controlRoom() {
        int free = fds.length - count;
        return free == 0 ? 0 : SocketLayouts.cmsgSpace(4L * free);
    }

    void add(int fd) {
        if (count == fds.length) {
            Libc.close(fd); // cannot happen with controlRoom(); never leak if it does
            throw new IllegalStateException("more descriptors than capacity " + fds.length);
        }
        fds[count++] = fd;
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("descriptor " + i + " of " + count + " received");
        }
        return i;
    }

    @Override
    public String toString() {
        return "ReceivedFds" + Arrays.toString(Arrays.copyOf(fds, count));
    }

    static int fdAt(MemorySegment control, long offset) {
        return control.get(JAVA_INT, offset);
    }
}

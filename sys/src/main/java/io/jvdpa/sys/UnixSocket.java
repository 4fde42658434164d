package io.jvdpa.sys;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;

import static io.jvdpa.sys.SocketLayouts.AF_UNIX;
import static io.jvdpa.sys.SocketLayouts.CMSGHDR;
import static io.jvdpa.sys.SocketLayouts.CMSG_LEN_FIELD;
import static io.jvdpa.sys.SocketLayouts.CMSG_LEVEL;
import static io.jvdpa.sys.SocketLayouts.CMSG_TYPE;
import static io.jvdpa.sys.SocketLayouts.IOVEC;
import static io.jvdpa.sys.SocketLayouts.IOV_BASE;
import static io.jvdpa.sys.SocketLayouts.IOV_LEN;
import static io.jvdpa.sys.SocketLayouts.MSGHDR;
import static io.jvdpa.sys.SocketLayouts.MSG_CMSG_CLOEXEC;
import static io.jvdpa.sys.SocketLayouts.MSG_CONTROL;
import static io.jvdpa.sys.SocketLayouts.MSG_CONTROLLEN;
import static io.jvdpa.sys.SocketLayouts.MSG_CTRUNC;
import static io.jvdpa.sys.SocketLayouts.MSG_FLAGS;
import static io.jvdpa.sys.SocketLayouts.MSG_IOV;
import static io.jvdpa.sys.SocketLayouts.MSG_IOVLEN;
import static io.jvdpa.sys.SocketLayouts.MSG_NOSIGNAL;
import static io.jvdpa.sys.SocketLayouts.SCM_RIGHTS;
import static io.jvdpa.sys.SocketLayouts.SOCK_CLOEXEC;
import static io.jvdpa.sys.SocketLayouts.SOCK_STREAM;
import static io.jvdpa.sys.SocketLayouts.SOL_SOCKET;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A connected AF_UNIX stream socket that carries bytes and file descriptors (SCM_RIGHTS), as vhost-user
 * needs.
 *
 * <p>Blocking is the normal mode: one thread per connection calls {@link #recv} and waits. A receive
 * timeout or non-blocking mode can be set. The native message buffers are allocated once per socket, so
 * sending and receiving allocate nothing; in exchange one thread at a time may send and one thread at a time
 * may receive. Buffers passed in must be native segments (guest memory, mappings, arena allocations).
 */
public final class UnixSocket implements AutoCloseable {
    /** The most descriptors one message may carry (vhost-user's limit too). */
    public static final int MAX_FDS = 8;

    private static final Duration FIRST_RETRY = Duration.ofMillis(10);
    private static final Duration MAX_RETRY = Duration.ofMillis(500);

    private final Fd fd;
    private final MemorySegment sendMsg;
    private final MemorySegment sendIov;
    private final MemorySegment sendControl;
    private final MemorySegment recvMsg;
    private final MemorySegment recvIov;
    private final ReceivedFds unwanted;
    private volatile boolean nonBlocking;
    private volatile long receiveTimeoutMillis;
    private final boolean shutdownOnClose;

    static UnixSocket accepted(Fd fd) {
        return new UnixSocket(fd, true);
    }

    private UnixSocket(Fd fd, boolean shutdownOnClose) {
        this.fd = fd;
        this.shutdownOnClose = shutdownOnClose;
        // Auto arena: a thread still blocked in recvmsg when another closes the socket keeps its buffers alive.
        Arena arena = Arena.ofAuto();
        this.sendMsg = arena.allocate(MSGHDR);
        this.sendIov = arena.allocate(IOVEC);
        this.sendControl = arena.allocate(SocketLayouts.cmsgSpace(4L * MAX_FDS), 8);
        this.recvMsg = arena.allocate(MSGHDR);
        this.recvIov = arena.allocate(IOVEC);
        this.unwanted = new ReceivedFds(MAX_FDS);
        sendMsg.set(JAVA_LONG, MSG_IOV, sendIov.address());
        sendMsg.set(JAVA_LONG, MSG_IOVLEN, 1);
        recvMsg.set(JAVA_LONG, MSG_IOV, recvIov.address());
        recvMsg.set(JAVA_LONG, MSG_IOVLEN, 1);
    }

    /** Takes ownership of a connected AF_UNIX stream socket, e.g. one received from a peer. */
    public static UnixSocket adopt(Fd fd) {
        return new UnixSocket(fd, false);
    }

    /** A connected pair (socketpair(2)). */
    public static UnixSocket[] pair() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            if (Libc.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
                throw new LinuxException("socketpair", "AF_UNIX, SOCK_STREAM", Libc.errno());
            }
            return new UnixSocket[] {
                new UnixSocket(Fd.adopt(fds.getAtIndex(JAVA_INT, 0)), false),
                new UnixSocket(Fd.adopt(fds.getAtIndex(JAVA_INT, 1)), false)
            };
        }
    }

    /** Connects once; fails at once when nobody listens at {@code path}. */
    public static UnixSocket connect(Path path) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = SocketLayouts.sockaddrUn(arena, path);
            int result = attempt(addr, SocketLayouts.sockaddrUnLength(path));
            if (result >= 0) return new UnixSocket(Fd.adopt(result), true);
            throw new LinuxException("connect", path.toString(), -result);
        }
    }

    /**
     * Connects, retrying while the path is missing or nobody accepts yet (ENOENT, ECONNREFUSED, EAGAIN), with
     * exponential back-off from 10 ms up to 500 ms, for at most {@code timeout} in total.
     */
    public static UnixSocket connect(Path path, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int attempts = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = SocketLayouts.sockaddrUn(arena, path);
            int length = SocketLayouts.sockaddrUnLength(path);
            while (true) {
                attempts++;
                int result = attempt(addr, length);
                if (result >= 0) return new UnixSocket(Fd.adopt(result), true);
                int errno = -result;
                boolean retryable = errno == Errno.ENOENT || errno == Errno.ECONNREFUSED || errno == Errno.EAGAIN;
                long left = deadline - System.nanoTime();
                if (!retryable || left <= 0) {
                    throw new LinuxException("connect", path + ", gave up after " + attempts + " attempts in "
                            + timeout.toMillis() + " ms", errno);
                }
                try {
                    Thread.sleep(Math.max(1, Math.min(retryDelay(attempts).toMillis(), left / 1_000_000)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while connecting to " + path);
                }
            }
        }
    }

    /** The wait after failed attempt {@code attempt} (from 1): 10 ms, doubling each time, at most 500 ms. */
    static Duration retryDelay(int attempt) {
        if (attempt < 1) throw new IllegalArgumentException("attempts count from 1, got " + attempt);
        Duration delay = FIRST_RETRY.multipliedBy(1L << Math.min(attempt - 1, 20));
        return delay.compareTo(MAX_RETRY) > 0 ? MAX_RETRY : delay;
    }

    /** One connect(2) on a fresh socket: the connected descriptor, or -errno. */
    static int attempt(MemorySegment addr, int length) throws LinuxException {
        int s = Libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) throw new LinuxException("socket", "AF_UNIX, SOCK_STREAM", Libc.errno());
        while (true) {
            if (Libc.connect(s, addr, length) == 0) return s;
            int errno = Libc.errno();
            if (errno == Errno.EINTR) continue;
            Libc.close(s);
            return -errno;
        }
    }

    /** The socket's descriptor, e.g. to register it with {@link Epoll}. Still owned by this socket. */
    public Fd fd() {
        return fd;
    }

    /**
     * Sends all of {@code bytes}, with {@code fds} attached to the first byte (SCM_RIGHTS). MSG_NOSIGNAL: a
     * closed peer gives EPIPE, not a signal. The descriptors stay owned by the caller.
     */
    public void send(MemorySegment bytes, int... fds) throws IOException {
        if (fds.length > MAX_FDS) {
            throw new IllegalArgumentException("at most " + MAX_FDS + " descriptors per message, got " + fds.length);
        }
        if (!bytes.isNative()) throw new IllegalArgumentException("send needs a native segment, got " + bytes);
        if (bytes.byteSize() == 0 && fds.length == 0) return;
        int s = fd.value();
        long address = bytes.address();
        long left = bytes.byteSize();
        if (fds.length > 0) {
            long dataLength = 4L * fds.length;
            sendControl.set(JAVA_LONG, CMSG_LEN_FIELD, SocketLayouts.cmsgLen(dataLength));
            sendControl.set(JAVA_INT, CMSG_LEVEL, SOL_SOCKET);
            sendControl.set(JAVA_INT, CMSG_TYPE, SCM_RIGHTS);
            for (int i = 0; i < fds.length; i++) sendControl.set(JAVA_INT, CMSGHDR.byteSize() + 4L * i, fds[i]);
            sendMsg.set(JAVA_LONG, MSG_CONTROL, sendControl.address());
            sendMsg.set(JAVA_LONG, MSG_CONTROLLEN, SocketLayouts.cmsgSpace(dataLength));
        } else {
            sendMsg.set(JAVA_LONG, MSG_CONTROL, 0);
            sendMsg.set(JAVA_LONG, MSG_CONTROLLEN, 0);
        }
        boolean first = true;
        // A stream socket may take part of a large message; the descriptors travel with the first part.
        while (first || left > 0) {
            sendIov.set(JAVA_LONG, IOV_BASE, address);
            sendIov.set(JAVA_LONG, IOV_LEN, left);
            long n = Libc.sendmsg(s, sendMsg, MSG_NOSIGNAL);
            if (n < 0) {
                int errno = Libc.errno();
                if (errno == Errno.EINTR) continue;
                if (errno == Errno.EAGAIN) {
                    Poll.await(s, Poll.POLLOUT, -1);
                    continue;
                }
                throw new LinuxException("sendmsg", "fd=" + s + ", len=" + left + ", fds=" + fds.length, errno);
            }
            if (first) {
                first = false;
                sendMsg.set(JAVA_LONG, MSG_CONTROL, 0);
                sendMsg.set(JAVA_LONG, MSG_CONTROLLEN, 0);
            }
            address += n;
            left -= n;
        }
        Reference.reachabilityFence(bytes);
    }

    /**
     * Receives up to {@code into.byteSize()} bytes and any descriptors sent with them.
     *
     * @param fds where arriving descriptors go (they stay open until taken or cleared); when null, arriving
     *            descriptors are closed
     * @return bytes read; 0 when the peer closed; -1 when non-blocking and nothing is there
     * @throws SocketTimeoutException when a receive timeout is set and passes
     * @throws IOException            when the peer sent more descriptors than {@code fds} has room for
     *                                (MSG_CTRUNC): every descriptor of the message is closed first
     */
    public int recv(MemorySegment into, ReceivedFds fds) throws IOException {
        if (!into.isNative()) throw new IllegalArgumentException("recv needs a native segment, got " + into);
        long n = recv(into.address(), into.byteSize(), fds);
        Reference.reachabilityFence(into);
        return (int) n;
    }

    /** {@link #recv(MemorySegment, ReceivedFds)} that closes any descriptor that arrives. */
    public int recv(MemorySegment into) throws IOException {
        return recv(into, null);
    }

    /**
     * Fills all of {@code into}, looping over short reads.
     *
     * @return false when the peer closed before the first byte (a clean end between messages)
     * @throws EOFException when the peer closed part way, e.g. "peer closed after 7 of 12 bytes"
     */
    public boolean recvExactly(MemorySegment into, ReceivedFds fds) throws IOException {
        if (!into.isNative()) throw new IllegalArgumentException("recv needs a native segment, got " + into);
        long size = into.byteSize();
        long done = 0;
        while (done < size) {
            long n = recv(into.address() + done, size - done, fds);
            if (n == 0) {
                if (done == 0) return false;
                throw new EOFException("peer closed after " + done + " of " + size + " bytes");
            }
            if (n < 0) Poll.await(fd.value(), Poll.POLLIN, -1); // non-blocking socket: wait for the rest
            else done += n;
        }
        Reference.reachabilityFence(into);
        return true;
    }

    private long recv(long address, long length, ReceivedFds fds) throws IOException {
        int s = fd.value();
        ReceivedFds sink = fds != null ? fds : unwanted;
        recvIov.set(JAVA_LONG, IOV_BASE, address);
        recvIov.set(JAVA_LONG, IOV_LEN, length);
        while (true) {
            long room = sink.controlRoom();
            recvMsg.set(JAVA_LONG, MSG_CONTROL, room == 0 ? 0 : sink.control.address());
            recvMsg.set(JAVA_LONG, MSG_CONTROLLEN, room);
            recvMsg.set(JAVA_INT, MSG_FLAGS, 0);
            long n = Libc.recvmsg(s, recvMsg, MSG_CMSG_CLOEXEC);
            if (n < 0) {
                int errno = Libc.errno();
                if (errno == Errno.EINTR) continue;
                if (errno == Errno.EAGAIN) {
                    if (nonBlocking) return -1;
                    throw new SocketTimeoutException("recvmsg on fd " + s + ": no data within the receive timeout of "
                            + receiveTimeoutMillis + " ms");
                }
                throw new LinuxException("recvmsg", "fd=" + s + ", len=" + length, errno);
            }
            collect(sink);
            if ((recvMsg.get(JAVA_INT, MSG_FLAGS) & MSG_CTRUNC) != 0) {
                int had = sink.count();
                sink.clear();
                throw new IOException("recvmsg on fd " + s + ": peer sent more descriptors than the " + sink.capacity()
                        + " expected (MSG_CTRUNC); closed the " + had + " received");
            }
            if (fds == null) unwanted.clear();
            return n;
        }
    }

    /** Moves the descriptors of every SCM_RIGHTS message in the control buffer into {@code sink}. */
    private void collect(ReceivedFds sink) {
        long controlLength = recvMsg.get(JAVA_LONG, MSG_CONTROLLEN);
        MemorySegment control = sink.control;
        long header = CMSGHDR.byteSize();
        long offset = 0;
        while (offset + header <= controlLength) {
            long length = control.get(JAVA_LONG, offset + CMSG_LEN_FIELD);
            if (length < header || offset + length > controlLength) break;
            if (control.get(JAVA_INT, offset + CMSG_LEVEL) == SOL_SOCKET
                    && control.get(JAVA_INT, offset + CMSG_TYPE) == SCM_RIGHTS) {
                for (long p = offset + header; p + 4 <= offset + length; p += 4) {
                    sink.add(ReceivedFds.fdAt(control, p));
                }
            }
            offset += SocketLayouts.cmsgAlign(length);
        }
    }

    /** Sets SO_RCVTIMEO: a blocking receive waits at most this long, then throws SocketTimeoutException. Zero waits forever. */
    public void setReceiveTimeout(Duration timeout) throws LinuxException {
        if (timeout.isNegative()) throw new IllegalArgumentException("negative receive timeout " + timeout);
        int s = fd.value();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tv = arena.allocate(SocketLayouts.TIMEVAL);
            tv.set(JAVA_LONG, 0, timeout.toSeconds());
            tv.set(JAVA_LONG, 8, timeout.toNanosPart() / 1000);
            if (!timeout.isZero() && timeout.toSeconds() == 0 && timeout.toNanosPart() < 1000) {
                tv.set(JAVA_LONG, 8, 1); // a sub-microsecond timeout must not become "forever"
            }
            if (Libc.setsockopt(s, SOL_SOCKET, SocketLayouts.SO_RCVTIMEO, tv, (int) tv.byteSize()) < 0) {
                throw new LinuxException("setsockopt", "fd=" + s + ", SO_RCVTIMEO=" + timeout, Libc.errno());
            }
        }
        receiveTimeoutMillis = timeout.toMillis();
    }

    /** In non-blocking mode {@link #recv} returns -1 instead of waiting; {@link #send} still completes. */
    public void setNonBlocking(boolean nonBlocking) throws LinuxException {
        fd.setNonBlocking(nonBlocking);
        this.nonBlocking = nonBlocking;
    }

    /** The peer's pid, uid and gid (SO_PEERCRED). */
    public PeerCredentials peerCredentials() throws LinuxException {
        int s = fd.value();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cred = arena.allocate(SocketLayouts.UCRED);
            MemorySegment length = arena.allocateFrom(JAVA_INT, (int) cred.byteSize());
            if (Libc.getsockopt(s, SOL_SOCKET, SocketLayouts.SO_PEERCRED, cred, length) < 0) {
                throw new LinuxException("getsockopt", "fd=" + s + ", SO_PEERCRED", Libc.errno());
            }
            return new PeerCredentials(cred.get(JAVA_INT, 0), cred.get(JAVA_INT, 4), cred.get(JAVA_INT, 8));
        }
    }

    /** Ends both directions (shutdown(2) SHUT_RDWR): the peer reads end-of-file, a blocked receive returns 0. */
    public void shutdown() throws LinuxException {
        shutdown(SocketLayouts.SHUT_RDWR);
    }

    /** Ends our sending direction only (SHUT_WR): the peer reads end-of-file, we can still receive. */
    public void shutdownOutput() throws LinuxException {
        shutdown(SocketLayouts.SHUT_WR);
    }

    private void shutdown(int how) throws LinuxException {
        int s = fd.value();
        if (Libc.shutdown(s, how) < 0 && Libc.errno() != Errno.ENOTCONN) {
            throw new LinuxException("shutdown", "fd=" + s + ", how=" + how, Libc.errno());
        }
    }

    public boolean isOpen() {
        return fd.isOpen();
    }

    /**
     * Closes the socket; later calls do nothing.
     *
     * <p>A socket from {@link #connect} or {@link UnixServerSocket#accept()} is shut down first, so a thread
     * blocked in {@link #recv} wakes with end-of-file. One from {@link #pair()} or {@link #adopt(Fd)} is only
     * closed: a copy of it may live in another process (a socketpair end handed to a peer), and shutdown
     * would end the connection there too. Call {@link #shutdown()} first to wake a receiver of such a socket.
     */
    @Override
    public void close() {
        if (shutdownOnClose && fd.isOpen()) {
            try {
                Libc.shutdown(fd.value(), SocketLayouts.SHUT_RDWR);
            } catch (IllegalStateException closedMeanwhile) {
                return;
            }
        }
        fd.close();
    }

    @Override
    public String toString() {
        return "UnixSocket[" + fd + "]";
    }
}

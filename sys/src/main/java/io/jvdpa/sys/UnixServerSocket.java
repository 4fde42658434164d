package io.jvdpa.sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.AsynchronousCloseException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.jvdpa.sys.SocketLayouts.AF_UNIX;
import static io.jvdpa.sys.SocketLayouts.SOCK_CLOEXEC;
import static io.jvdpa.sys.SocketLayouts.SOCK_STREAM;

/**
 * A listening AF_UNIX stream socket at a filesystem path: the vhost-user back-end's server mode.
 *
 * <p>Binding refuses to replace anything at the path that is not a socket, replaces a stale socket file
 * (nobody accepts on it) and refuses one a live server still listens on. The socket file gets mode 0600
 * unless told otherwise, set before listen(2) so nobody can connect while it is wider. Closing removes the
 * file if it is still the one this server created.
 */
public final class UnixServerSocket implements AutoCloseable {
    public static final int DEFAULT_MODE = 0600;
    private static final int BACKLOG = 16;
    private static final int ECONNABORTED = 103;

    private final Fd fd;
    private final Path path;
    private final Stat created;
    private final AtomicBoolean closed = new AtomicBoolean();

    private UnixServerSocket(Fd fd, Path path, Stat created) {
        this.fd = fd;
        this.path = path;
        this.created = created;
    }

    /** Binds and listens at {@code path} with mode 0600. */
    public static UnixServerSocket bind(Path path) throws IOException {
        return bind(path, DEFAULT_MODE);
    }

    /**
     * Binds and listens at {@code path}.
     *
     * @param mode permission bits of the socket file, e.g. {@code 0660} to let a group connect
     * @throws FileAlreadyExistsException when something other than a socket is at the path
     * @throws LinuxException             with EADDRINUSE when a live server listens at the path
     */
    public static UnixServerSocket bind(Path path, int mode) throws IOException {
        if ((mode & ~07777) != 0) throw new IllegalArgumentException("not a file mode: 0" + Integer.toOctalString(mode));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment addr = SocketLayouts.sockaddrUn(arena, path);
            int addrLength = SocketLayouts.sockaddrUnLength(path);
            MemorySegment cPath = arena.allocateFrom(path.toString());
            removeStale(path, addr, addrLength, cPath);

            int s = Libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (s < 0) throw new LinuxException("socket", "AF_UNIX, SOCK_STREAM", Libc.errno());
            Fd fd = Fd.adopt(s);
            try {
                if (Libc.bind(s, addr, addrLength) < 0) throw new LinuxException("bind", path.toString(), Libc.errno());
                Stat created = Stat.ofPath(path);
                try {
                    if (Libc.chmod(cPath, mode) < 0) {
                        throw new LinuxException("chmod", path + ", mode=0" + Integer.toOctalString(mode), Libc.errno());
                    }
                    if (Libc.listen(s, BACKLOG) < 0) throw new LinuxException("listen", path.toString(), Libc.errno());
                } catch (IOException | RuntimeException e) {
                    Libc.unlink(cPath);
                    throw e;
                }
                return new UnixServerSocket(fd, path, created);
            } catch (IOException | RuntimeException e) {
                fd.close();
                throw e;
            }
        }
    }

    private static void removeStale(Path path, MemorySegment addr, int addrLength, MemorySegment cPath)
            throws IOException {
        Stat existing = Stat.ofPath(path);
        if (existing == null) return;
        if (!existing.isSocket()) {
            throw new FileAlreadyExistsException(path.toString(), null,
                    "is a " + existing.typeName() + ", not a socket; refusing to replace it with a socket");
        }
        int probe = UnixSocket.attempt(addr, addrLength);
        if (probe >= 0) {
            Libc.close(probe);
            throw new LinuxException("bind", path + ": a server is listening there", Errno.EADDRINUSE);
        }
        if (-probe != Errno.ECONNREFUSED && -probe != Errno.ENOENT) {
            throw new LinuxException("connect", path + " (probing an existing socket file)", -probe);
        }
        if (Libc.unlink(cPath) < 0 && Libc.errno() != Errno.ENOENT) {
            throw new LinuxException("unlink", path + " (stale socket)", Libc.errno());
        }
    }

    /**
     * Waits for the next connection.
     *
     * @throws AsynchronousCloseException when this server is closed while waiting
     */
    public UnixSocket accept() throws IOException {
        while (true) {
            int s = fd.isOpen() ? Libc.accept4(fdValue(), SOCK_CLOEXEC) : -1;
            if (s >= 0) return UnixSocket.accepted(Fd.adopt(s));
            if (closed.get()) throw new AsynchronousCloseException();
            int errno = Libc.errno();
            if (errno == Errno.EINTR || errno == ECONNABORTED) continue;
            throw new LinuxException("accept4", path.toString(), errno);
        }
    }

    /** Waits at most {@code timeout} for the next connection; null when none came. */
    public UnixSocket accept(Duration timeout) throws IOException {
        int ready = Poll.await(fdValue(), Poll.POLLIN, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        if (closed.get()) throw new AsynchronousCloseException();
        return ready == 0 ? null : accept();
    }

    private int fdValue() throws AsynchronousCloseException {
        try {
            return fd.value();
        } catch (IllegalStateException e) {
            throw new AsynchronousCloseException();
        }
    }

    public Path path() {
        return path;
    }

    /** The listening descriptor, e.g. to wait for connections in an {@link Epoll}. Still owned here. */
    public Fd fd() {
        return fd;
    }

    public boolean isOpen() {
        return !closed.get();
    }

    /**
     * Stops listening: a thread blocked in {@link #accept()} wakes with AsynchronousCloseException. Removes the
     * socket file unless something else has replaced it since.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        // shutdown(2) of a listening socket wakes accept(2) blocked in another thread; close(2) alone does not.
        if (fd.isOpen()) {
            try {
                Libc.shutdown(fd.value(), SocketLayouts.SHUT_RDWR);
            } catch (IllegalStateException closedMeanwhile) {
                // someone closed the descriptor itself; nothing to wake
            }
            fd.close();
        }
        try {
            Stat now = Stat.ofPath(path);
            if (now != null && now.device() == created.device() && now.inode() == created.inode()) {
                try (Arena arena = Arena.ofConfined()) {
                    Libc.unlink(arena.allocateFrom(path.toString()));
                }
            }
        } catch (LinuxException e) {
            // the directory went away or became unreadable: nothing left for us to remove
        }
    }

    @Override
    public String toString() {
        return "UnixServerSocket[" + path + (isOpen() ? "" : ", closed") + "]";
    }
}

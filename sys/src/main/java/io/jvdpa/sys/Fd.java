package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * Owns one Linux file descriptor and closes it exactly once.
 *
 * <p>Every descriptor this module creates has close-on-exec set, so a child process (a test's second JVM,
 * QEMU started by a harness) never inherits one by accident.
 */
public final class Fd implements AutoCloseable {
    private static final VarHandle FD;
    static {
        try {
            FD = MethodHandles.lookup().findVarHandle(Fd.class, "fd", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final int F_GETFL = 3;
    private static final int F_SETFL = 4;
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final int O_NONBLOCK = OpenFlags.O_NONBLOCK;

    @SuppressWarnings("unused") // accessed through FD
    private volatile int fd;

    private Fd(int fd) {
        this.fd = fd;
    }

    /** Takes ownership of {@code fd}: closing this object closes it. */
    public static Fd adopt(int fd) {
        if (fd < 0) throw new IllegalArgumentException("not a file descriptor: " + fd);
        return new Fd(fd);
    }

    /**
     * open(2) with {@link OpenFlags#O_CLOEXEC} always added.
     *
     * @param mode permission bits for a file that {@link OpenFlags#O_CREAT} creates, e.g. {@code 0600}
     */
    public static Fd open(Path path, int flags, int mode) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            int fd = Libc.open(arena.allocateFrom(path.toString()), flags | OpenFlags.O_CLOEXEC, mode);
            if (fd < 0) {
                throw new LinuxException("open", path + ", flags=0" + Integer.toOctalString(flags) + ", mode=0"
                        + Integer.toOctalString(mode), Libc.errno());
            }
            return new Fd(fd);
        }
    }

    /** The descriptor number. */
    public int value() {
        int value = fd;
        if (value < 0) throw new IllegalStateException("file descriptor already closed");
        return value;
    }

    public boolean isOpen() {
        return fd >= 0;
    }

    /** st_size from fstat(2): the length of a regular file or memfd. */
    public long size() throws LinuxException {
        return Stat.of(value()).size();
    }

    /** A second descriptor for the same open file (F_DUPFD_CLOEXEC), owned by the returned object. */
    public Fd duplicate() throws LinuxException {
        int value = value();
        int copy = Libc.fcntl(value, F_DUPFD_CLOEXEC, 0);
        if (copy < 0) throw new LinuxException("fcntl", "fd=" + value + ", F_DUPFD_CLOEXEC", Libc.errno());
        return new Fd(copy);
    }

    /** Sets or clears O_NONBLOCK. */
    public void setNonBlocking(boolean nonBlocking) throws LinuxException {
        int value = value();
        int flags = Libc.fcntl(value, F_GETFL, 0);
        if (flags < 0) throw new LinuxException("fcntl", "fd=" + value + ", F_GETFL", Libc.errno());
        int wanted = nonBlocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        if (wanted != flags && Libc.fcntl(value, F_SETFL, wanted) < 0) {
            throw new LinuxException("fcntl", "fd=" + value + ", F_SETFL", Libc.errno());
        }
    }

    /**
     * Gives up ownership without closing: returns the number and leaves this object closed. For handing a
     * descriptor to code that closes it itself.
     */
    public int release() {
        int value = (int) FD.getAndSet(this, -1);
        if (value < 0) throw new IllegalStateException("file descriptor already closed");
        return value;
    }

    /**
     * Closes the descriptor; later calls do nothing. An error from close(2) other than EBADF is ignored:
     * on Linux the descriptor is released whatever close returns, so retrying could close a stranger's.
     */
    @Override
    public void close() {
        int value = (int) FD.getAndSet(this, -1);
        if (value < 0) return;
        if (Libc.close(value) < 0 && Libc.errno() == Errno.EBADF) {
            throw new IllegalStateException("close(fd=" + value + "): descriptor was not open; something else closed it");
        }
    }

    @Override
    public String toString() {
        int value = fd;
        return value < 0 ? "Fd[closed]" : "Fd[" + value + "]";
    }
}

package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The one place that talks to the C library: downcall handles and errno capture.
 *
 * <p>Every call that can fail is linked with {@code captureCallState("errno")}; the capture segment is
 * per thread and allocated once. Callers read {@link #errno()} right after a failed call on the same thread.
 * Wrappers return the raw C result; the concept classes decide what a failure means and raise
 * {@link LinuxException} with the arguments that explain it.
 *
 * <p>The data-path calls (read, write and their vectored and positioned forms, epoll_wait, poll) are linked
 * twice. The JDK slices the capture segment on every capturing call, and whether C2 removes that 40-byte slice
 * depends on inlining, so the data path first makes the call without capture and only when it fails makes it
 * once more with errno captured. That is sound because these calls do nothing when they fail (a partial
 * transfer is a count, not -1): the second attempt either does the work or reports why it could not.
 *
 * <p>Layouts and constants are those of x86_64 Linux (glibc).
 */
@SuppressWarnings("restricted") // linking C functions is what this class is for
final class Libc {
    private Libc() {}

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    /** Per-thread errno capture; auto arena so a dead thread's segment is reclaimed by the GC. */
    private static final ThreadLocal<MemorySegment> CAPTURE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    static MemorySegment capture() {
        return CAPTURE.get();
    }

    /** errno of the last captured call on this thread. */
    static int errno() {
        return (int) ERRNO.get(CAPTURE.get(), 0L);
    }

    static final long PAGE_SIZE = 4096;

    // ---- linking -------------------------------------------------------------------------------

    private static MethodHandle withErrno(String name, FunctionDescriptor descriptor, Linker.Option... extra) {
        Linker.Option[] options = new Linker.Option[extra.length + 1];
        options[0] = CAPTURE_ERRNO;
        System.arraycopy(extra, 0, options, 1, extra.length);
        return LINKER.downcallHandle(symbol(name), descriptor, options);
    }

    private static MethodHandle plain(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor);
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("C library has no symbol " + name));
    }

    private static Optional<MethodHandle> optional(String name, FunctionDescriptor descriptor) {
        return LIBC.find(name).map(s -> LINKER.downcallHandle(s, descriptor));
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("native call failed", t);
    }

    private static FunctionDescriptor fn(MemoryLayout result, MemoryLayout... args) {
        return FunctionDescriptor.of(result, args);
    }

    // ---- file descriptors ------------------------------------------------------------------------

    private static final MethodHandle CLOSE = withErrno("close", fn(JAVA_INT, JAVA_INT));
    private static final MethodHandle READ = withErrno("read", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = withErrno("write", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle PREAD =
            withErrno("pread", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PWRITE =
            withErrno("pwrite", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle READV = withErrno("readv", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle WRITEV = withErrno("writev", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle PREADV =
            withErrno("preadv", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG));
    private static final MethodHandle PWRITEV =
            withErrno("pwritev", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG));
    private static final MethodHandle READ_PLAIN = plain("read", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE_PLAIN = plain("write", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle PREAD_PLAIN = plain("pread", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PWRITE_PLAIN = plain("pwrite", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle READV_PLAIN = plain("readv", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle WRITEV_PLAIN = plain("writev", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle PREADV_PLAIN = plain("preadv", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG));
    private static final MethodHandle PWRITEV_PLAIN = plain("pwritev", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG));
    private static final MethodHandle FSYNC = withErrno("fsync", fn(JAVA_INT, JAVA_INT));
    private static final MethodHandle FSTAT = withErrno("fstat", fn(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle LSTAT = withErrno("lstat", fn(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle FTRUNCATE = withErrno("ftruncate", fn(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle FDATASYNC = withErrno("fdatasync", fn(JAVA_INT, JAVA_INT));
    private static final MethodHandle FALLOCATE =
            withErrno("fallocate", fn(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle FCNTL_INT = withErrno("fcntl", fn(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle OPEN = withErrno("open", fn(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CHMOD = withErrno("chmod", fn(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle UNLINK = withErrno("unlink", fn(JAVA_INT, ADDRESS));
    private static final MethodHandle MEMFD_CREATE = withErrno("memfd_create", fn(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SCHED_SETAFFINITY =
            withErrno("sched_setaffinity", fn(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle SCHED_GETAFFINITY =
            withErrno("sched_getaffinity", fn(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle MMAP =
            withErrno("mmap", fn(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = withErrno("munmap", fn(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle IOCTL_PTR = withErrno("ioctl", fn(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle IOCTL_LONG = withErrno("ioctl", fn(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle POLL = withErrno("poll", fn(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle POLL_PLAIN = plain("poll", fn(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    static int close(int fd) {
        try { return (int) CLOSE.invokeExact(capture(), fd); } catch (Throwable t) { throw rethrow(t); }
    }

    static long read(int fd, MemorySegment buf, long count) {
        try {
            long r = (long) READ_PLAIN.invokeExact(fd, buf, count);
            return r >= 0 ? r : (long) READ.invokeExact(capture(), fd, buf, count);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static long write(int fd, MemorySegment buf, long count) {
        try {
            long r = (long) WRITE_PLAIN.invokeExact(fd, buf, count);
            return r >= 0 ? r : (long) WRITE.invokeExact(capture(), fd, buf, count);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static long pread(int fd, MemorySegment buf, long count, long offset) {
        try {
            long r = (long) PREAD_PLAIN.invokeExact(fd, buf, count, offset);
            return r >= 0 ? r : (long) PREAD.invokeExact(capture(), fd, buf, count, offset);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static long pwrite(int fd, MemorySegment buf, long count, long offset) {
        try {
            long r = (long) PWRITE_PLAIN.invokeExact(fd, buf, count, offset);
            return r >= 0 ? r : (long) PWRITE.invokeExact(capture(), fd, buf, count, offset);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static long readv(int fd, MemorySegment iov, int count) {
        try {
            long r = (long) READV_PLAIN.invokeExact(fd, iov, count);
            return r >= 0 ? r : (long) READV.invokeExact(capture(), fd, iov, count);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static long writev(int fd, MemorySegment iov, int count) {
        try {
            long r = (long) WRITEV_PLAIN.invokeExact(fd, iov, count);
            return r >= 0 ? r : (long) WRITEV.invokeExact(capture(), fd, iov, count);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static long preadv(int fd, MemorySegment iov, int count, long offset) {
        try {
            long r = (long) PREADV_PLAIN.invokeExact(fd, iov, count, offset);
            return r >= 0 ? r : (long) PREADV.invokeExact(capture(), fd, iov, count, offset);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static long pwritev(int fd, MemorySegment iov, int count, long offset) {
        try {
            long r = (long) PWRITEV_PLAIN.invokeExact(fd, iov, count, offset);
            return r >= 0 ? r : (long) PWRITEV.invokeExact(capture(), fd, iov, count, offset);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static int fsync(int fd) {
        try { return (int) FSYNC.invokeExact(capture(), fd); } catch (Throwable t) { throw rethrow(t); }
    }

    static int fstat(int fd, MemorySegment stat) {
        try { return (int) FSTAT.invokeExact(capture(), fd, stat); } catch (Throwable t) { throw rethrow(t); }
    }

    static int lstat(MemorySegment path, MemorySegment stat) {
        try { return (int) LSTAT.invokeExact(capture(), path, stat); } catch (Throwable t) { throw rethrow(t); }
    }

    static int ftruncate(int fd, long length) {
        try { return (int) FTRUNCATE.invokeExact(capture(), fd, length); } catch (Throwable t) { throw rethrow(t); }
    }

    static int fdatasync(int fd) {
        try { return (int) FDATASYNC.invokeExact(capture(), fd); } catch (Throwable t) { throw rethrow(t); }
    }

    static int fallocate(int fd, int mode, long offset, long length) {
        try {
            return (int) FALLOCATE.invokeExact(capture(), fd, mode, offset, length);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static int fcntl(int fd, int cmd, int arg) {
        try { return (int) FCNTL_INT.invokeExact(capture(), fd, cmd, arg); } catch (Throwable t) { throw rethrow(t); }
    }

    static int open(MemorySegment path, int flags, int mode) {
        try { return (int) OPEN.invokeExact(capture(), path, flags, mode); } catch (Throwable t) { throw rethrow(t); }
    }

    static int chmod(MemorySegment path, int mode) {
        try { return (int) CHMOD.invokeExact(capture(), path, mode); } catch (Throwable t) { throw rethrow(t); }
    }

    static int unlink(MemorySegment path) {
        try { return (int) UNLINK.invokeExact(capture(), path); } catch (Throwable t) { throw rethrow(t); }
    }

    static int memfdCreate(MemorySegment name, int flags) {
        try { return (int) MEMFD_CREATE.invokeExact(capture(), name, flags); } catch (Throwable t) { throw rethrow(t); }
    }

    /** pid 0: the calling thread. */
    static int schedSetaffinity(int pid, long maskSize, MemorySegment mask) {
        try { return (int) SCHED_SETAFFINITY.invokeExact(capture(), pid, maskSize, mask); } catch (Throwable t) { throw rethrow(t); }
    }

    static int schedGetaffinity(int pid, long maskSize, MemorySegment mask) {
        try { return (int) SCHED_GETAFFINITY.invokeExact(capture(), pid, maskSize, mask); } catch (Throwable t) { throw rethrow(t); }
    }

    /** Returns the mapped address, or -1 (MAP_FAILED). */
    static long mmap(long length, int prot, int flags, int fd, long offset) {
        try {
            MemorySegment addr = (MemorySegment) MMAP.invokeExact(capture(), MemorySegment.NULL, length, prot, flags,
                    fd, offset);
            return addr.address();
        } catch (Throwable t) { throw rethrow(t); }
    }

    static int munmap(long address, long length) {
        try {
            return (int) MUNMAP.invokeExact(capture(), MemorySegment.ofAddress(address), length);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static int ioctl(int fd, long request, MemorySegment arg) {
        try { return (int) IOCTL_PTR.invokeExact(capture(), fd, request, arg); } catch (Throwable t) { throw rethrow(t); }
    }

    static int ioctl(int fd, long request, long arg) {
        try { return (int) IOCTL_LONG.invokeExact(capture(), fd, request, arg); } catch (Throwable t) { throw rethrow(t); }
    }

    static int poll(MemorySegment fds, long count, int timeoutMillis) {
        try {
            int r = (int) POLL_PLAIN.invokeExact(fds, count, timeoutMillis);
            return r >= 0 ? r : (int) POLL.invokeExact(capture(), fds, count, timeoutMillis);
        } catch (Throwable t) { throw rethrow(t); }
    }

    // ---- sockets ---------------------------------------------------------------------------------

    private static final MethodHandle SOCKET = withErrno("socket", fn(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SOCKETPAIR =
            withErrno("socketpair", fn(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle BIND = withErrno("bind", fn(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle CONNECT = withErrno("connect", fn(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LISTEN = withErrno("listen", fn(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACCEPT4 =
            withErrno("accept4", fn(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle SENDMSG = withErrno("sendmsg", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECVMSG = withErrno("recvmsg", fn(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SETSOCKOPT =
            withErrno("setsockopt", fn(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKOPT =
            withErrno("getsockopt", fn(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SHUTDOWN = withErrno("shutdown", fn(JAVA_INT, JAVA_INT, JAVA_INT));

    static int socket(int domain, int type, int protocol) {
        try { return (int) SOCKET.invokeExact(capture(), domain, type, protocol); } catch (Throwable t) { throw rethrow(t); }
    }

    static int socketpair(int domain, int type, int protocol, MemorySegment fds) {
        try {
            return (int) SOCKETPAIR.invokeExact(capture(), domain, type, protocol, fds);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static int bind(int fd, MemorySegment addr, int len) {
        try { return (int) BIND.invokeExact(capture(), fd, addr, len); } catch (Throwable t) { throw rethrow(t); }
    }

    static int connect(int fd, MemorySegment addr, int len) {
        try { return (int) CONNECT.invokeExact(capture(), fd, addr, len); } catch (Throwable t) { throw rethrow(t); }
    }

    static int listen(int fd, int backlog) {
        try { return (int) LISTEN.invokeExact(capture(), fd, backlog); } catch (Throwable t) { throw rethrow(t); }
    }

    static int accept4(int fd, int flags) {
        try {
            return (int) ACCEPT4.invokeExact(capture(), fd, MemorySegment.NULL, MemorySegment.NULL, flags);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static long sendmsg(int fd, MemorySegment msg, int flags) {
        try { return (long) SENDMSG.invokeExact(capture(), fd, msg, flags); } catch (Throwable t) { throw rethrow(t); }
    }

    static long recvmsg(int fd, MemorySegment msg, int flags) {
        try { return (long) RECVMSG.invokeExact(capture(), fd, msg, flags); } catch (Throwable t) { throw rethrow(t); }
    }

    static int setsockopt(int fd, int level, int name, MemorySegment value, int len) {
        try {
            return (int) SETSOCKOPT.invokeExact(capture(), fd, level, name, value, len);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static int getsockopt(int fd, int level, int name, MemorySegment value, MemorySegment len) {
        try {
            return (int) GETSOCKOPT.invokeExact(capture(), fd, level, name, value, len);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static int shutdown(int fd, int how) {
        try { return (int) SHUTDOWN.invokeExact(capture(), fd, how); } catch (Throwable t) { throw rethrow(t); }
    }

    // ---- eventfd and epoll -----------------------------------------------------------------------

    private static final MethodHandle EVENTFD = withErrno("eventfd", fn(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle EPOLL_CREATE1 = withErrno("epoll_create1", fn(JAVA_INT, JAVA_INT));
    private static final MethodHandle EPOLL_CTL =
            withErrno("epoll_ctl", fn(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle EPOLL_WAIT =
            withErrno("epoll_wait", fn(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle EPOLL_WAIT_PLAIN =
            plain("epoll_wait", fn(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));

    static int eventfd(int initval, int flags) {
        try { return (int) EVENTFD.invokeExact(capture(), initval, flags); } catch (Throwable t) { throw rethrow(t); }
    }

    static int epollCreate1(int flags) {
        try { return (int) EPOLL_CREATE1.invokeExact(capture(), flags); } catch (Throwable t) { throw rethrow(t); }
    }

    static int epollCtl(int epfd, int op, int fd, MemorySegment event) {
        try {
            return (int) EPOLL_CTL.invokeExact(capture(), epfd, op, fd, event);
        } catch (Throwable t) { throw rethrow(t); }
    }

    static int epollWait(int epfd, MemorySegment events, int max, int timeoutMillis) {
        try {
            int r = (int) EPOLL_WAIT_PLAIN.invokeExact(epfd, events, max, timeoutMillis);
            return r >= 0 ? r : (int) EPOLL_WAIT.invokeExact(capture(), epfd, events, max, timeoutMillis);
        } catch (Throwable t) { throw rethrow(t); }
    }

    // ---- errno text ------------------------------------------------------------------------------

    /** glibc 2.32+: thread-safe, locale-free text and name; absent on older C libraries. */
    private static final Optional<MethodHandle> STRERRORDESC_NP = optional("strerrordesc_np", fn(ADDRESS, JAVA_INT));
    private static final Optional<MethodHandle> STRERRORNAME_NP = optional("strerrorname_np", fn(ADDRESS, JAVA_INT));

    static String strerrordesc(int errno) {
        return cString(STRERRORDESC_NP, errno);
    }

    static String strerrorname(int errno) {
        return cString(STRERRORNAME_NP, errno);
    }

    private static String cString(Optional<MethodHandle> handle, int errno) {
        if (handle.isEmpty()) return null;
        try {
            MemorySegment s = (MemorySegment) handle.get().invokeExact(errno);
            return s.equals(MemorySegment.NULL) ? null : s.reinterpret(256).getString(0);
        } catch (Throwable t) { throw rethrow(t); }
    }
}

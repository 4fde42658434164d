package io.jvdpa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A TAP network device (/dev/net/tun, IFF_TAP|IFF_NO_PI, usually IFF_VNET_HDR): Ethernet frames in and out
 * of the host's network stack, each preceded by a virtio-net header when one is configured.
 *
 * <p>Opening a name that exists attaches to that device (e.g. one made with {@code ip tuntap add});
 * otherwise the kernel creates it and removes it again when the last descriptor closes. Reading and writing
 * allocate nothing.
 */
public final class Tap implements AutoCloseable {
    /** TUNSETOFFLOAD flags: what the host may hand us unsegmented or without checksum. */
    public static final int TUN_F_CSUM = 0x01;
    public static final int TUN_F_TSO4 = 0x02;
    public static final int TUN_F_TSO6 = 0x04;
    public static final int TUN_F_TSO_ECN = 0x08;
    public static final int TUN_F_UFO = 0x10;
    public static final int TUN_F_USO4 = 0x20;
    public static final int TUN_F_USO6 = 0x40;

    private static final Path TUN = Path.of("/dev/net/tun");
    private static final long TUNSETIFF = 0x400454caL;
    private static final long TUNSETOFFLOAD = 0x400454d0L;
    private static final long TUNSETVNETHDRSZ = 0x400454d8L;
    private static final long SIOCGIFFLAGS = 0x8913;
    private static final long SIOCSIFFLAGS = 0x8914;
    private static final long SIOCGIFMTU = 0x8921;
    private static final long SIOCSIFMTU = 0x8922;
    private static final short IFF_UP = 0x1;
    private static final short IFF_TAP = 0x0002;
    private static final short IFF_MULTI_QUEUE = 0x0100;
    private static final short IFF_NO_PI = 0x1000;
    private static final short IFF_VNET_HDR = 0x4000;
    private static final int IFNAMSIZ = 16;

    /** struct ifreq: the name and a 24-byte union of which flags (short) and mtu (int) are used. */
    static final StructLayout IFREQ = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(IFNAMSIZ, JAVA_BYTE).withName("ifr_name"),
            MemoryLayout.unionLayout(
                    JAVA_SHORT.withName("ifr_flags"),
                    JAVA_INT.withName("ifr_mtu"),
                    MemoryLayout.sequenceLayout(24, JAVA_BYTE).withName("ifr_pad")).withName("ifr_ifru"));
    private static final long IFR_UNION = IFREQ.byteOffset(MemoryLayout.PathElement.groupElement("ifr_ifru"));

    private final Fd fd;
    private final String name;
    private volatile int vnetHeaderSize;
    private volatile boolean nonBlocking;

    private Tap(Fd fd, String name, int vnetHeaderSize) {
        this.fd = fd;
        this.name = name;
        this.vnetHeaderSize = vnetHeaderSize;
    }

    /** Opens or creates {@code name} with a 12-byte virtio-net header (modern and mergeable-buffer layout). */
    public static Tap open(String name) throws LinuxException {
        return open(name, 12, false);
    }

    /**
     * Opens or creates a TAP device.
     *
     * @param name           device name (at most 15 bytes); null or empty lets the kernel pick {@code tapN}
     * @param vnetHeaderSize 0 for bare frames, or 10 / 12: the virtio-net header length before each frame
     * @param multiQueue     IFF_MULTI_QUEUE: open the same name again for each further queue pair
     */
    public static Tap open(String name, int vnetHeaderSize, boolean multiQueue) throws LinuxException {
        String requested = name == null ? "" : name;
        if (requested.getBytes(StandardCharsets.UTF_8).length >= IFNAMSIZ) {
            throw new IllegalArgumentException("interface name longer than " + (IFNAMSIZ - 1) + " bytes: " + name);
        }
        if (vnetHeaderSize != 0 && vnetHeaderSize != 10 && vnetHeaderSize != 12) {
            throw new IllegalArgumentException("virtio-net header size must be 0, 10 or 12, was " + vnetHeaderSize);
        }
        Fd fd = Fd.open(TUN, OpenFlags.O_RDWR, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = arena.allocate(IFREQ);
            ifr.setString(0, requested);
            short flags = (short) (IFF_TAP | IFF_NO_PI | (vnetHeaderSize > 0 ? IFF_VNET_HDR : 0)
                    | (multiQueue ? IFF_MULTI_QUEUE : 0));
            ifr.set(JAVA_SHORT, IFR_UNION, flags);
            if (Libc.ioctl(fd.value(), TUNSETIFF, ifr) < 0) {
                throw new LinuxException("ioctl", "TUNSETIFF, name=" + requested + ", flags=0x"
                        + Integer.toHexString(flags & 0xffff), Libc.errno());
            }
            Tap tap = new Tap(fd, ifr.getString(0), 0);
            if (vnetHeaderSize > 0) tap.setVnetHeaderSize(vnetHeaderSize);
            return tap;
        } catch (LinuxException | RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    /** The interface name, as the kernel gave or confirmed it. */
    public String name() {
        return name;
    }

    public Fd fd() {
        return fd;
    }

    public int vnetHeaderSize() {
        return vnetHeaderSize;
    }

    /** TUNSETVNETHDRSZ: 10 (virtio_net_hdr) or 12 (with num_buffers, as VERSION_1 and MRG_RXBUF use). */
    public void setVnetHeaderSize(int size) throws LinuxException {
        if (size != 10 && size != 12) throw new IllegalArgumentException("header size must be 10 or 12, was " + size);
        try (Arena arena = Arena.ofConfined()) {
            if (Libc.ioctl(fd.value(), TUNSETVNETHDRSZ, arena.allocateFrom(JAVA_INT, size)) < 0) {
                throw new LinuxException("ioctl", name + ", TUNSETVNETHDRSZ=" + size, Libc.errno());
            }
        }
        vnetHeaderSize = size;
    }

    /** TUNSETOFFLOAD with {@code TUN_F_*} flags; 0 means the host segments and checksums everything. */
    public void setOffload(int flags) throws LinuxException {
        if (Libc.ioctl(fd.value(), TUNSETOFFLOAD, (long) flags) < 0) {
            throw new LinuxException("ioctl", name + ", TUNSETOFFLOAD=0x" + Integer.toHexString(flags), Libc.errno());
        }
    }

    /** Sets the link administratively up (IFF_UP via SIOCSIFFLAGS). */
    public void up() throws LinuxException {
        setUp(true);
    }

    public void setUp(boolean up) throws LinuxException {
        withInterface((socket, ifr) -> {
            if (Libc.ioctl(socket, SIOCGIFFLAGS, ifr) < 0) {
                throw new LinuxException("ioctl", name + ", SIOCGIFFLAGS", Libc.errno());
            }
            short flags = ifr.get(JAVA_SHORT, IFR_UNION);
            ifr.set(JAVA_SHORT, IFR_UNION, (short) (up ? flags | IFF_UP : flags & ~IFF_UP));
            if (Libc.ioctl(socket, SIOCSIFFLAGS, ifr) < 0) {
                throw new LinuxException("ioctl", name + ", SIOCSIFFLAGS " + (up ? "up" : "down"), Libc.errno());
            }
            return 0;
        });
    }

    public boolean isUp() throws LinuxException {
        return withInterface((socket, ifr) -> {
            if (Libc.ioctl(socket, SIOCGIFFLAGS, ifr) < 0) {
                throw new LinuxException("ioctl", name + ", SIOCGIFFLAGS", Libc.errno());
            }
            return ifr.get(JAVA_SHORT, IFR_UNION) & IFF_UP;
        }) != 0;
    }

    public int mtu() throws LinuxException {
        return withInterface((socket, ifr) -> {
            if (Libc.ioctl(socket, SIOCGIFMTU, ifr) < 0) {
                throw new LinuxException("ioctl", name + ", SIOCGIFMTU", Libc.errno());
            }
            return ifr.get(JAVA_INT, IFR_UNION);
        });
    }

    public void setMtu(int mtu) throws LinuxException {
        withInterface((socket, ifr) -> {
            ifr.set(JAVA_INT, IFR_UNION, mtu);
            if (Libc.ioctl(socket, SIOCSIFMTU, ifr) < 0) {
                throw new LinuxException("ioctl", name + ", SIOCSIFMTU=" + mtu, Libc.errno());
            }
            return 0;
        });
    }

    private interface InterfaceCall {
        int call(int socket, MemorySegment ifr) throws LinuxException;
    }

    /** Interface ioctls go through any socket; a datagram socket is the cheapest. */
    private int withInterface(InterfaceCall call) throws LinuxException {
        int socket = Libc.socket(SocketLayouts.AF_INET, SocketLayouts.SOCK_DGRAM | SocketLayouts.SOCK_CLOEXEC, 0);
        if (socket < 0) throw new LinuxException("socket", "AF_INET, SOCK_DGRAM", Libc.errno());
        try (Fd owner = Fd.adopt(socket); Arena arena = Arena.ofConfined()) {
            MemorySegment ifr = arena.allocate(IFREQ);
            ifr.setString(0, name);
            return call.call(owner.value(), ifr);
        }
    }

    /** O_NONBLOCK: {@link #read} returns -1 instead of waiting for a frame. */
    public void setNonBlocking(boolean nonBlocking) throws LinuxException {
        fd.setNonBlocking(nonBlocking);
        this.nonBlocking = nonBlocking;
    }

    /**
     * Reads one frame (with its virtio-net header first, if configured) into {@code into}, which must be
     * native. A frame longer than {@code into} is cut short.
     *
     * @return the frame length; -1 when non-blocking and no frame is waiting
     */
    public int read(MemorySegment into) throws LinuxException {
        if (!into.isNative()) throw new IllegalArgumentException("read needs a native segment, got " + into);
        int value = fd.value();
        while (true) {
            long n = Libc.read(value, into, into.byteSize());
            if (n >= 0) return (int) n;
            int errno = Libc.errno();
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.EAGAIN && nonBlocking) return -1;
            throw new LinuxException("read", "tap " + name + ", len=" + into.byteSize(), errno);
        }
    }

    /** Reads one frame scattered over the buffers of {@code iov}; -1 when non-blocking and none is waiting. */
    public int read(IoVec iov) throws LinuxException {
        int value = fd.value();
        while (true) {
            long n = Libc.readv(value, iov.array(), iov.count());
            if (n >= 0) return (int) n;
            int errno = Libc.errno();
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.EAGAIN && nonBlocking) return -1;
            throw new LinuxException("readv", "tap " + name + ", " + iov.count() + " buffers", errno);
        }
    }

    /**
     * Sends one frame (virtio-net header first, if configured) into the host stack.
     *
     * @return bytes written, the whole frame; -1 when non-blocking and the device queue is full
     */
    public int write(MemorySegment frame) throws LinuxException {
        if (!frame.isNative()) throw new IllegalArgumentException("write needs a native segment, got " + frame);
        int value = fd.value();
        while (true) {
            long n = Libc.write(value, frame, frame.byteSize());
            if (n >= 0) {
                Reference.reachabilityFence(frame);
                return (int) n;
            }
            int errno = Libc.errno();
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.EAGAIN && nonBlocking) return -1;
            throw new LinuxException("write", "tap " + name + ", len=" + frame.byteSize(), errno);
        }
    }

    /** Sends one frame gathered from the buffers of {@code iov}. */
    public int write(IoVec iov) throws LinuxException {
        int value = fd.value();
        while (true) {
            long n = Libc.writev(value, iov.array(), iov.count());
            if (n >= 0) return (int) n;
            int errno = Libc.errno();
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.EAGAIN && nonBlocking) return -1;
            throw new LinuxException("writev", "tap " + name + ", " + iov.count() + " buffers, " + iov.byteSize()
                    + " bytes", errno);
        }
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "Tap[" + name + ", " + fd + "]";
    }
}

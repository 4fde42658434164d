package io.jvdpa.sys;

import java.lang.foreign.Arena;

/** Anonymous shared memory files (memfd_create(2)): guest RAM for the front-end, inflight and log areas. */
public final class MemFd {
    private MemFd() {}

    private static final int MFD_CLOEXEC = 0x1;
    private static final int MFD_ALLOW_SEALING = 0x2;

    /**
     * Creates a memfd of {@code size} bytes (zero-filled, sparse until written).
     *
     * @param name shows in /proc/PID/fd and /proc/PID/maps as {@code /memfd:NAME}; at most 249 bytes
     */
    public static Fd create(String name, long size) throws LinuxException {
        if (size < 0) throw new IllegalArgumentException("memfd size must not be negative: " + size);
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = Libc.memfdCreate(arena.allocateFrom(name), MFD_CLOEXEC | MFD_ALLOW_SEALING);
            if (fd < 0) throw new LinuxException("memfd_create", "name=" + name, Libc.errno());
        }
        Fd owner = Fd.adopt(fd);
        try {
            if (Libc.ftruncate(fd, size) < 0) {
                throw new LinuxException("ftruncate", "memfd " + name + ", size=" + size, Libc.errno());
            }
            return owner;
        } catch (LinuxException | RuntimeException e) {
            owner.close();
            throw e;
        }
    }

    /** Changes the length of a memfd or regular file (ftruncate(2)). */
    public static void truncate(Fd fd, long size) throws LinuxException {
        if (Libc.ftruncate(fd.value(), size) < 0) {
            throw new LinuxException("ftruncate", "fd=" + fd.value() + ", size=" + size, Libc.errno());
        }
    }
}

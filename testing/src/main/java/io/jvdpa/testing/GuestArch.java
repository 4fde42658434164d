package io.jvdpa.testing;

/**
 * The guest architectures the harness boots. s390x is the big-endian guest: with a legacy (virtio 0.95)
 * driver it exchanges ring and header fields in big-endian order, the cross-endian case of a transitional
 * back-end.
 */
public enum GuestArch {
    /** Debian's amd64 kernel on QEMU's pc machine; virtio devices on PCI; console on ttyS0. */
    X86_64("x86_64", "qemu-system-x86_64", "pc", "ttyS0"),
    /** Debian's s390x kernel on s390-ccw-virtio; virtio-net on channel I/O, vhost-user-blk on zPCI; console on the SCLP. */
    S390X("s390x", "qemu-system-s390x", "s390-ccw-virtio", "ttysclp0");

    private final String directory;
    private final String qemu;
    private final String machine;
    private final String console;

    GuestArch(String directory, String qemu, String machine, String console) {
        this.directory = directory;
        this.qemu = qemu;
        this.machine = machine;
        this.console = console;
    }

    /** The sub-directory of build/guest with this architecture's kernel and initramfs. */
    public String directory() {
        return directory;
    }

    public String qemuBinary() {
        return qemu;
    }

    public String machine() {
        return machine;
    }

    /** The kernel's console device (the {@code console=} argument). */
    public String consoleDevice() {
        return console;
    }
}

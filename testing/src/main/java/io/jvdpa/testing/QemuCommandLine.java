package io.jvdpa.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The QEMU command line for a {@link GuestSpec}: TCG, guest RAM in a shared memfd (vhost-user back-ends map it),
 * the console on stdio, the kernel and initramfs from scripts/guest-images, one vhost-user device per
 * {@link VhostUserNet} / {@link VhostUserBlk}, and optionally a QMP monitor and an incoming migration.
 */
final class QemuCommandLine {
    /** The kernel command line option the guest's /init turns into {@code insmod virtio_pci.ko force_legacy=1}. */
    static final String FORCE_LEGACY_ARG = "jvdpa.legacy=1";

    private QemuCommandLine() {
    }

    static List<String> of(GuestSpec spec, GuestImages images) {
        GuestArch arch = spec.arch();
        List<String> args = new ArrayList<>(List.of(
                arch.qemuBinary(),
                "-name", spec.name(),
                "-accel", "tcg",
                "-machine", arch.machine() + ",memory-backend=mem",
                "-object", "memory-backend-memfd,id=mem,size=" + spec.memoryMiB() + "M,share=on",
                "-m", spec.memoryMiB() + "M",
                "-smp", Integer.toString(spec.cpus()),
                "-nodefaults", "-display", "none", "-no-reboot",
                "-chardev", "stdio,id=con0,signal=off"));
        if (arch == GuestArch.S390X) {
            args.addAll(List.of("-device", "sclpconsole,chardev=con0"));
        } else {
            args.addAll(List.of("-serial", "chardev:con0"));
        }
        List<String> append = new ArrayList<>(List.of("console=" + arch.consoleDevice(), "panic=-1"));
        if (spec.forceLegacy()) {
            append.add(FORCE_LEGACY_ARG);
        }
        append.addAll(spec.kernelArgs());
        args.addAll(List.of("-kernel", images.kernel().toString(), "-initrd", images.initramfs().toString(),
                "-append", String.join(" ", append)));
        for (int i = 0; i < spec.nets().size(); i++) {
            addNet(args, arch, i, spec.nets().get(i));
        }
        for (int i = 0; i < spec.blks().size(); i++) {
            addBlk(args, arch, i, spec.blks().get(i));
        }
        if (spec.monitor() != null) {
            args.addAll(List.of("-qmp", "unix:" + escape(spec.monitor().toString()) + ",server=on,wait=off"));
        }
        if (spec.incoming() != null) {
            args.addAll(List.of("-incoming", spec.incoming()));
        }
        args.addAll(spec.qemuArgs());
        return args;
    }

    private static void addNet(List<String> args, GuestArch arch, int index, VhostUserNet net) {
        String chardev = "netchr" + index;
        args.addAll(List.of("-chardev", chardev(chardev, net.socket(), net.reconnect())));
        String netdev = "vhost-user,id=net" + index + ",chardev=" + chardev;
        if (net.queues() > 1) {
            netdev += ",queues=" + net.queues();
        }
        args.addAll(List.of("-netdev", netdev));
        String mac = net.mac() != null ? net.mac() : defaultMac(index);
        StringBuilder device = new StringBuilder();
        if (arch == GuestArch.S390X) {
            device.append("virtio-net-ccw,netdev=net").append(index).append(",mac=").append(mac);
            device.append(ccwMode(net.mode()));
        } else {
            device.append("virtio-net-pci,netdev=net").append(index).append(",mac=").append(mac);
            // QEMU 7.2 under TCG segfaults in msix_set_vector_notifiers for vhost-user PCI devices with MSI-X.
            device.append(",vectors=0").append(pciMode(net.mode()));
        }
        if (net.queues() > 1) {
            device.append(",mq=on");
        }
        if (!net.mergeable()) {
            device.append(",mrg_rxbuf=off");
        }
        args.addAll(List.of("-device", device.toString()));
    }

    private static void addBlk(List<String> args, GuestArch arch, int index, VhostUserBlk blk) {
        String chardev = blkChardev(index);
        args.addAll(List.of("-chardev", chardev(chardev, blk.socket(), blk.reconnect())));
        StringBuilder device = new StringBuilder();
        blkDevice(arch, chardev, blk).forEach((k, v) -> device.append(device.isEmpty() ? v : "," + k + "=" + v));
        args.addAll(List.of("-device", device.toString()));
    }

    static String blkChardev(int index) {
        return "blkchr" + index;
    }

    /** The vhost-user-blk device's driver (first) and properties, for -device and for device_add alike. */
    static Map<String, String> blkDevice(GuestArch arch, String chardev, VhostUserBlk blk) {
        Map<String, String> device = new LinkedHashMap<>();
        device.put("driver", "vhost-user-blk-pci");
        device.put("chardev", chardev);
        device.put("num-queues", Integer.toString(blk.queues()));
        // QEMU 7.2 has no vhost-user-blk-ccw: on s390x the disk is a zPCI device, which must keep MSI-X.
        if (arch != GuestArch.S390X) {
            device.put("vectors", "0");
        }
        device.putAll(pciModeProperties(blk.mode()));
        return device;
    }

    static String chardev(String id, Path socket, boolean reconnect) {
        return "socket,id=" + id + ",path=" + escape(socket.toString()) + (reconnect ? ",reconnect=1" : "");
    }

    private static String pciMode(VirtioMode mode) {
        StringBuilder s = new StringBuilder();
        pciModeProperties(mode).forEach((k, v) -> s.append(',').append(k).append('=').append(v));
        return s.toString();
    }

    private static Map<String, String> pciModeProperties(VirtioMode mode) {
        Map<String, String> p = new LinkedHashMap<>();
        switch (mode) {
            case MODERN_ONLY -> p.put("disable-legacy", "on");
            case LEGACY_ONLY -> p.put("disable-modern", "on");
            case TRANSITIONAL -> {
                p.put("disable-legacy", "off");
                p.put("disable-modern", "off");
            }
            case PACKED -> {
                p.put("disable-legacy", "on");
                p.put("packed", "on");
            }
        }
        return p;
    }

    private static String ccwMode(VirtioMode mode) {
        return switch (mode) {
            // A ccw device has no switch to refuse legacy; the Linux driver negotiates the highest revision.
            case MODERN_ONLY, TRANSITIONAL -> "";
            case LEGACY_ONLY -> ",max_revision=0";
            case PACKED -> ",packed=on";
        };
    }

    /** 52:54:00 is QEMU's prefix; the last byte tells the devices of one guest apart. */
    static String defaultMac(int index) {
        return String.format(Locale.ROOT, "52:54:00:12:34:%02x", index + 0x56);
    }

    /** QEMU option values separate properties with commas; a literal comma is written twice. */
    static String escape(String value) {
        return value.replace(",", ",,");
    }
}

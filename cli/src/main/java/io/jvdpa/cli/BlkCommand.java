package io.jvdpa.cli;

import io.jvdpa.blk.BlkDeviceConfig;
import io.jvdpa.blk.BlkImage;
import io.jvdpa.blk.CacheMode;
import io.jvdpa.blk.VirtioBlkDevice;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code jvdpa blk}: serves one virtio-blk device over a raw image file until SIGTERM. */
@Command(name = "blk", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Serves a virtio-blk device backed by a raw image file over vhost-user, to modern and legacy "
                + "(little- and big-endian) drivers alike.",
            "A write completes once its data is in the file; FLUSH (and every write with --cache writethrough) "
                + "completes after fdatasync. Requests in flight survive a restart of this process when the "
                + "front-end reconnects (QEMU: -chardev socket,...,reconnect=1)."})
public final class BlkCommand implements DeviceCommand, Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    DeviceOptions options;

    @Option(names = "--image", required = true, paramLabel = "FILE", description = "the raw image file")
    Path image;

    @Option(names = "--size", paramLabel = "SIZE",
            description = "create FILE sparse with this size (like 64M or 1G) when it does not exist")
    String size;

    @Option(names = "--read-only", description = "offer the disk read-only (RO); writes fail")
    boolean readOnly;

    @Option(names = "--queues", paramLabel = "N", defaultValue = "1",
            description = "request queues, 1 to " + BlkDeviceConfig.MAX_QUEUES + " (default ${DEFAULT-VALUE})")
    int queues;

    @Option(names = "--serial", paramLabel = "ID",
            description = "the serial GET_ID returns, up to 20 ASCII characters (default: the image's file name)")
    String serial;

    @Option(names = "--cache", paramLabel = "MODE", defaultValue = "writeback",
            description = "writeback (FLUSH makes writes durable) or writethrough (every write is) (default ${DEFAULT-VALUE})")
    String cache;

    @Override
    public DeviceOptions deviceOptions() {
        return options;
    }

    /** The device's configuration from the flags; IllegalArgumentException names the flag that is wrong. */
    BlkDeviceConfig config() {
        if (queues < 1 || queues > BlkDeviceConfig.MAX_QUEUES) {
            throw new IllegalArgumentException("--queues " + queues + " is outside 1.." + BlkDeviceConfig.MAX_QUEUES);
        }
        CacheMode mode = CacheMode.ofFlag(cache);
        createSize();
        String id = serial != null ? serial : defaultSerial(image);
        try {
            return new BlkDeviceConfig(id, queues, readOnly, mode);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--serial: " + e.getMessage());
        }
    }

    private long createSize() {
        if (size == null) {
            return 0;
        }
        long bytes = ByteSize.parse("--size", size);
        if (bytes % 512 != 0) {
            throw new IllegalArgumentException("--size " + size + " is not a multiple of 512 bytes");
        }
        if (readOnly) {
            throw new IllegalArgumentException("--size creates an image, which --read-only cannot");
        }
        return bytes;
    }

    /** The image's file name, cut to what GET_ID carries and to printable ASCII. */
    static String defaultSerial(Path image) {
        Path name = image.getFileName();
        StringBuilder s = new StringBuilder();
        for (char c : (name == null ? "jvdpa-blk" : name.toString()).toCharArray()) {
            if (c >= 0x20 && c <= 0x7e && s.length() < 20) {
                s.append(c);
            }
        }
        return s.toString().getBytes(StandardCharsets.US_ASCII).length == 0 ? "jvdpa-blk" : s.toString();
    }

    @Override
    public VirtioBlkDevice createDevice(String name) {
        BlkDeviceConfig config = config();
        BlkImage opened;
        try {
            opened = BlkImage.open(image, createSize(), readOnly);
        } catch (IOException e) {
            throw new StartException(e.getMessage(), e);
        }
        return new VirtioBlkDevice(opened, config);
    }

    @Override
    public Integer call() {
        try {
            options.validate();
            config();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        VirtioBlkDevice device = createDevice("blk");
        DeviceRunner runner;
        try {
            runner = new DeviceRunner("blk", device, options);
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            runner.close();
            System.out.println("jvdpa blk: " + device.counters().summary());
            System.out.flush();
            device.close();
        }, "jvdpa-blk-summary"));
        runner.runUntilStopped();
        return 0;
    }
}

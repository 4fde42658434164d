package io.jvdpa.testing;

import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A real Linux guest under QEMU (TCG) whose virtio devices are served by vhost-user back-ends: the way jvdpa's
 * devices and the reference peers are tested. Boot it with {@link #start()}, drive its shell with
 * {@link #exec(String, Duration)}, and {@link #close()} it to kill QEMU. The console and QEMU's stderr are
 * kept under {@link TestLogs} ({@link #logDirectory()}); QEMU's complaints about vhost-user are surfaced in
 * every {@link GuestException}, and by default end {@link #start()} and {@link #exec} at once.
 *
 * <pre>{@code
 * try (QemuGuest guest = QemuGuest.builder(GuestArch.X86_64)
 *         .net(VhostUserNet.of(socket, VirtioMode.MODERN_ONLY)).start()) {
 *     guest.exec("ip link set eth0 up", Duration.ofSeconds(10)).requireSuccess();
 * }
 * }</pre>
 *
 * <p>For live migration, a guest built with {@link Builder#monitor(Path)} is driven through QMP ({@link #qmp()}),
 * and a second QEMU built with {@link Builder#incoming(String)} starts without booting and waits for the migrated
 * guest. Its console is its own stdio, so once the migration has completed the migrated shell answers there:
 * {@link #exec} on the destination carries on where the source left off.
 */
public final class QemuGuest implements AutoCloseable {
    public static final Duration DEFAULT_EXEC_TIMEOUT = Duration.ofSeconds(60);
    private static final System.Logger LOG = System.getLogger(QemuGuest.class.getName());
    /** What QEMU prints on stderr when a vhost-user device or its socket fails. */
    private static final Pattern FAILURE = Pattern.compile("(?i)vhost|fail|error|refused|unable|cannot|can't");
    /**
     * Not a failure: QEMU 7.2's virtio-net keeps its config space itself and warns when a back-end offers the
     * CONFIG protocol feature (which other front-ends use).
     */
    private static final String CONFIG_NOT_USED = "supports VHOST_USER_PROTOCOL_F_CONFIG but QEMU does not";
    /** Raw bytes per console command when pushing a file; the base64 text stays well inside the tty's buffers. */
    private static final int PUSH_CHUNK = 6 * 1024;

    private final GuestSpec spec;
    private final List<String> commandLine;
    private ManagedProcess qemu;
    private GuestConsole console;
    private QmpClient qmp;
    private Duration bootTime;
    private int hotplugged;

    private QemuGuest(GuestSpec spec, List<String> commandLine) {
        this.spec = spec;
        this.commandLine = List.copyOf(commandLine);
    }

    public static Builder builder(GuestArch arch) {
        return new Builder(arch);
    }

    /**
     * Starts QEMU and waits until the guest's shell runs (modules loaded, devices probed). A guest waiting for an
     * incoming migration only starts: there is no shell until the migration completes, and then it is the
     * migrated guest's.
     *
     * @throws GuestException if QEMU exits, reports a vhost-user failure (unless
     *                        {@link Builder#failOnVhostError(boolean) disabled}), or the shell is not up within
     *                        the boot timeout; QEMU is killed before it is thrown
     */
    public QemuGuest start() {
        if (qemu != null) {
            throw new IllegalStateException(spec.name() + " already started");
        }
        long begin = System.nanoTime();
        qemu = ManagedProcess.builder(spec.name()).command(commandLine).maxLifetime(spec.maxLifetime())
                .stdoutLog("console.log").start();
        console = new GuestConsole(qemu.stdout(), qemu.stdin(), this::abortReason, this::qemuErrors);
        if (spec.incoming() != null) {
            LOG.log(System.Logger.Level.INFO, "{0} waits for a migrated guest on {1}", spec.name(), spec.incoming());
            return this;
        }
        try {
            console.awaitReady(spec.bootTimeout());
        } catch (HarnessException e) {
            GuestException failure = new GuestException(spec.name() + " did not boot: " + e.getMessage()
                    + "\n--- QEMU stderr ---\n" + qemu.stderr().tail(4000) + "\n--- console tail ---\n"
                    + qemu.stdout().tail(3000) + "\nlogs in " + qemu.logDirectory(), qemuErrors());
            close();
            throw failure;
        }
        bootTime = Duration.ofNanos(System.nanoTime() - begin);
        LOG.log(System.Logger.Level.INFO, "{0} ({1}) booted in {2} ms", spec.name(), spec.arch(), bootTime.toMillis());
        return this;
    }

    /**
     * Runs {@code command} in the guest's shell (busybox ash, as root) and returns its output (stdout and stderr
     * together) and exit status. The command may span lines (each under 4000 characters); shell state such as
     * the working directory and variables carries over to the next command. On timeout the command is
     * interrupted (^C) and a {@link GuestException} is thrown; the shell stays usable.
     */
    public ExecResult exec(String command, Duration timeout) {
        requireStarted();
        return console.exec(command, timeout);
    }

    /** {@link #exec(String, Duration)} with {@link #DEFAULT_EXEC_TIMEOUT}. */
    public ExecResult exec(String command) {
        return exec(command, DEFAULT_EXEC_TIMEOUT);
    }

    /** Runs {@code command}, requires exit status 0, and returns its output. */
    public String execOk(String command, Duration timeout) {
        return exec(command, timeout).requireSuccess().output();
    }

    /** Writes {@code content} to {@code guestPath} over the console (base64); for small files. */
    public void pushFile(byte[] content, String guestPath) {
        String path = quote(guestPath);
        execOk(": > " + path, DEFAULT_EXEC_TIMEOUT);
        Base64.Encoder encoder = Base64.getMimeEncoder(76, new byte[] {'\n'});
        for (int offset = 0; offset < content.length; offset += PUSH_CHUNK) {
            int length = Math.min(PUSH_CHUNK, content.length - offset);
            byte[] chunk = java.util.Arrays.copyOfRange(content, offset, offset + length);
            execOk("base64 -d >> " + path + " <<'JVDPA_EOF'\n" + encoder.encodeToString(chunk) + "\nJVDPA_EOF",
                    DEFAULT_EXEC_TIMEOUT);
        }
        String sum = execOk("sha256sum " + path, DEFAULT_EXEC_TIMEOUT).split("\\s+")[0];
        if (!sum.equals(sha256(content))) {
            throw new GuestException("pushed " + content.length + " bytes to " + guestPath
                    + " but the guest's copy differs (sha256 " + sum + ")", qemuErrors());
        }
    }

    /** Reads {@code guestPath} over the console (base64); for small files. */
    public byte[] readFile(String guestPath) {
        String text = execOk("base64 " + quote(guestPath), DEFAULT_EXEC_TIMEOUT);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes(Base64.getMimeDecoder().decode(text));
        return bytes.toByteArray();
    }

    /** The virtio devices the guest kernel found, with their negotiated features and status. */
    public List<GuestVirtioDevice> virtioDevices() {
        String script = "for d in /sys/bus/virtio/devices/*; do [ -e \"$d\" ] || continue; "
                + "drv=-; [ -e \"$d/driver\" ] && drv=$(basename $(readlink \"$d/driver\")); "
                + "echo \"$(basename $d) $(cat $d/device) $(cat $d/features) $(cat $d/status) $drv\"; done";
        return execOk(script, DEFAULT_EXEC_TIMEOUT).lines().filter(l -> !l.isBlank())
                .map(GuestVirtioDevice::parse).toList();
    }

    /**
     * Plugs a vhost-user-blk disk into the running guest through its monitor ({@code chardev-add}, then
     * {@code device_add}), as {@link Builder#blk} would have it at boot; it becomes the next vdX once the guest's
     * driver has probed it. Needs {@link Builder#monitor(Path)}. A disk whose back-end is to refuse the driver goes
     * in this way: present at boot, the x86 firmware (SeaBIOS) drives it before the kernel starts, and waits on it
     * for good once its back-end is gone.
     */
    public synchronized void hotplug(VhostUserBlk blk) {
        int index = spec.blks().size() + hotplugged;
        String chardev = QemuCommandLine.blkChardev(index);
        Map<String, Object> socket = new LinkedHashMap<>();
        socket.put("addr", Map.of("type", "unix", "data", Map.of("path", blk.socket().toString())));
        socket.put("server", false);
        if (blk.reconnect()) {
            socket.put("reconnect", 1);
        }
        qmp().execute("chardev-add", Map.of("id", chardev, "backend", Map.of("type", "socket", "data", socket)));
        Map<String, Object> device = new LinkedHashMap<>(QemuCommandLine.blkDevice(spec.arch(), chardev, blk));
        device.put("id", "blk" + index);
        qmp().execute("device_add", device);
        hotplugged++;
    }

    /**
     * The QMP monitor given with {@link Builder#monitor(Path)}, connected on first use (waiting for QEMU to open
     * it) and closed with the guest.
     */
    public synchronized QmpClient qmp() {
        requireStarted();
        if (spec.monitor() == null) {
            throw new IllegalStateException(spec.name() + " has no monitor: build it with monitor(path)");
        }
        if (qmp == null) {
            qmp = QmpClient.connect(spec.name(), spec.monitor(), Duration.ofSeconds(30), qemu::exitedReason);
        }
        return qmp;
    }

    /** QEMU's stderr lines that report a failure (vhost-user errors, socket errors). */
    public List<String> qemuErrors() {
        if (qemu == null) {
            return List.of();
        }
        return qemu.stderr().text().lines().filter(l -> FAILURE.matcher(l).find())
                .filter(l -> !l.contains("terminating on signal")).filter(l -> !l.contains(CONFIG_NOT_USED)).toList();
    }

    /** Everything QEMU printed on stderr so far. */
    public String qemuStderr() {
        return qemu == null ? "" : qemu.stderr().text();
    }

    /** The console text since the last command (boot messages until the first one). */
    public String consoleText() {
        requireStarted();
        return qemu.stdout().text();
    }

    public boolean isRunning() {
        return qemu != null && qemu.isAlive();
    }

    /** How long {@link #start()} took until the shell ran. */
    public Duration bootTime() {
        return bootTime;
    }

    public GuestArch arch() {
        return spec.arch();
    }

    public String name() {
        return spec.name();
    }

    /** The full QEMU command line. */
    public List<String> commandLine() {
        return commandLine;
    }

    /** Holds console.log, stderr.log and command.txt of this guest's QEMU. */
    public Path logDirectory() {
        requireStarted();
        return qemu.logDirectory();
    }

    /** Kills QEMU (SIGTERM, then SIGKILL) and waits for it. */
    @Override
    public void close() {
        synchronized (this) {
            if (qmp != null) {
                qmp.close();
            }
        }
        if (qemu != null) {
            qemu.close();
        }
    }

    private String abortReason() {
        String exited = qemu.exitedReason();
        if (exited != null) {
            return "QEMU " + exited;
        }
        if (spec.failOnVhostError()) {
            List<String> errors = qemuErrors();
            if (!errors.isEmpty()) {
                return "QEMU reported a failure: " + errors.getFirst();
            }
        }
        return null;
    }

    private void requireStarted() {
        if (qemu == null) {
            throw new IllegalStateException(spec.name() + " has not been started");
        }
    }

    static String quote(String text) {
        return "'" + text.replace("'", "'\\''") + "'";
    }

    static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Configures a {@link QemuGuest}. */
    public static final class Builder {
        private final GuestArch arch;
        private String name;
        private int memoryMiB = 512;
        private int cpus = 1;
        private final List<VhostUserNet> nets = new ArrayList<>();
        private final List<VhostUserBlk> blks = new ArrayList<>();
        private boolean forceLegacy;
        private final List<String> kernelArgs = new ArrayList<>();
        private final List<String> qemuArgs = new ArrayList<>();
        private Duration bootTimeout = Duration.ofSeconds(60);
        private Duration maxLifetime = Duration.ofMinutes(15);
        private boolean failOnVhostError = true;
        private Path monitor;
        private String incoming;

        private Builder(GuestArch arch) {
            this.arch = Objects.requireNonNull(arch, "arch");
        }

        /** Names the guest in logs and log directories; the architecture by default. */
        public Builder name(String newName) {
            this.name = newName;
            return this;
        }

        /**
         * Guest RAM in MiB (512 by default), shared with the back-ends through a memfd. The x86 initramfs with
         * fio needs more than 256 MiB to unpack.
         */
        public Builder memoryMiB(int newMemoryMiB) {
            if (newMemoryMiB < 128) {
                throw new IllegalArgumentException("guest memory below 128 MiB: " + newMemoryMiB);
            }
            this.memoryMiB = newMemoryMiB;
            return this;
        }

        public Builder cpus(int newCpus) {
            this.cpus = newCpus;
            return this;
        }

        /** Adds a vhost-user virtio-net device; the guest names them eth0, eth1, ... in order. */
        public Builder net(VhostUserNet device) {
            nets.add(Objects.requireNonNull(device));
            return this;
        }

        /** Adds a vhost-user virtio-blk device; the guest names them vda, vdb, ... in order. */
        public Builder blk(VhostUserBlk device) {
            blks.add(Objects.requireNonNull(device));
            return this;
        }

        /**
         * Makes the guest's virtio-pci driver use the legacy interface of transitional devices
         * ({@code insmod virtio_pci.ko force_legacy=1}). Has no effect on s390x ccw devices, whose legacy mode
         * is {@link VirtioMode#LEGACY_ONLY}.
         */
        public Builder forceLegacy(boolean newForceLegacy) {
            this.forceLegacy = newForceLegacy;
            return this;
        }

        /** Extra kernel command line arguments. */
        public Builder kernelArgs(String... args) {
            kernelArgs.addAll(List.of(args));
            return this;
        }

        /** Extra QEMU arguments, appended last. */
        public Builder qemuArgs(String... args) {
            qemuArgs.addAll(List.of(args));
            return this;
        }

        /** How long {@link QemuGuest#start()} waits for the shell; 60 s by default (a TCG boot takes 5-10 s). */
        public Builder bootTimeout(Duration newBootTimeout) {
            this.bootTimeout = newBootTimeout;
            return this;
        }

        /** Hard limit on QEMU's life even if the tests' JVM dies; 15 minutes by default. */
        public Builder maxLifetime(Duration newMaxLifetime) {
            this.maxLifetime = newMaxLifetime;
            return this;
        }

        /**
         * Whether a failure QEMU prints on stderr (a vhost-user error, a socket it cannot reach) ends
         * {@link QemuGuest#start()} and {@link QemuGuest#exec} at once with a {@link GuestException}; on by
         * default. Turn it off to observe a guest that keeps running after such an error.
         */
        public Builder failOnVhostError(boolean newFailOnVhostError) {
            this.failOnVhostError = newFailOnVhostError;
            return this;
        }

        /**
         * A QMP monitor on the unix socket {@code socket} ({@code -qmp unix:SOCKET,server=on,wait=off}), reached
         * through {@link QemuGuest#qmp()}. QEMU creates the socket; the caller deletes it.
         */
        public Builder monitor(Path socket) {
            this.monitor = Objects.requireNonNull(socket, "socket");
            return this;
        }

        /**
         * Makes this QEMU the destination of a live migration ({@code -incoming URI}, e.g. {@code unix:PATH}):
         * it starts with the same devices as the source's but runs nothing until a guest arrives, and
         * {@link QemuGuest#start()} does not wait for a shell.
         */
        public Builder incoming(String uri) {
            this.incoming = Objects.requireNonNull(uri, "uri");
            return this;
        }

        /** The guest, not yet started. */
        public QemuGuest build() {
            GuestSpec spec = new GuestSpec(arch, name != null ? name : arch.directory(), memoryMiB, cpus, nets, blks,
                    forceLegacy, kernelArgs, qemuArgs, bootTimeout, maxLifetime, failOnVhostError, monitor, incoming);
            return new QemuGuest(spec, QemuCommandLine.of(spec, GuestImages.of(arch)));
        }

        /** Builds and {@linkplain QemuGuest#start() starts} the guest. */
        public QemuGuest start() {
            return build().start();
        }
    }
}

package io.jvdpa.it.manage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvdpa.testing.GuestArch;
import io.jvdpa.testing.GuestImages;
import io.jvdpa.testing.ManagedProcess;
import io.jvdpa.testing.QemuGuest;
import io.jvdpa.testing.RepoRoot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The deployment examples under examples/ do what they say. One daemon runs examples/jvdpa.yaml (a net device and a
 * disk), started with the command line of examples/systemd/jvdpa.service. Guests booted with the device options of
 * examples/qemu/vm.sh (modern) and examples/qemu/legacy-vm.sh (legacy drivers) ping the gateway through it and
 * keep what they write on the disk; libvirt itself starts examples/libvirt/jvdpa-vm.xml and that guest does too.
 *
 * <p>Only what ties an example to this machine is changed: /run/jvdpa and /opt/jvdpa become test paths, the guest
 * boots the test kernel, and virtio PCI devices get {@code vectors=0} because QEMU 7.2 under TCG (no KVM here)
 * crashes on MSI-X with vhost-user devices.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ExamplesIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration SHORT = Duration.ofSeconds(30);
    private static final String PING = "ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0"
            + " && ping -c 3 -W 5 10.0.2.2";

    private final Path examples = RepoRoot.find().resolve("examples");
    private Path dir;
    private Path run;
    private Path control;
    private ManagedProcess daemon;

    @BeforeAll
    void startTheDaemonAsTheUnitWould() throws Exception {
        Jvdpa.build();
        dir = Files.createTempDirectory("jvdpa-examples");
        run = Files.createDirectories(dir.resolve("run"));
        control = run.resolve("control.sock");
        // What the unit's StateDirectory=jvdpa makes: where the disk image is created.
        Files.createDirectories(dir.resolve("lib"));
        Path config = dir.resolve("jvdpa.yaml");
        Files.writeString(config, localize(Files.readString(examples.resolve("jvdpa.yaml"))));
        List<String> execStart = execStart();
        assertThat(execStart).containsSequence("daemon", "--config", "/etc/jvdpa/jvdpa.yaml");
        List<String> command = execStart.stream()
                .map(a -> a.equals("/etc/jvdpa/jvdpa.yaml") ? config.toString() : a)
                .map(a -> a.equals("/opt/jvdpa/jvdpa") ? Jvdpa.launcher().toString() : a)
                .toList();
        daemon = ManagedProcess.builder("example-daemon").command(command).maxLifetime(Duration.ofMinutes(10)).start();
        Jvdpa.awaitReady(daemon);
        assertThat(dev("list", "--json")).hasSize(2);
    }

    @AfterAll
    void stopTheDaemon() throws IOException {
        try {
            if (daemon != null) {
                daemon.signal("TERM");
                assertThat(daemon.waitFor(Duration.ofSeconds(30))).as(daemon.describe()).isZero();
                try (Stream<Path> left = Files.list(run)) {
                    assertThat(left.toList()).as("sockets left in the runtime directory").isEmpty();
                }
            }
        } finally {
            if (daemon != null) {
                daemon.close();
            }
            deleteTree(dir);
        }
    }

    /** The example's system paths, moved into this test's directory. */
    private String localize(String text) {
        return text.replace("/run/jvdpa", run.toString()).replace("/var/lib/jvdpa", dir.resolve("lib").toString());
    }

    /** ExecStart of the systemd unit, split into arguments (it has no quoting). */
    private List<String> execStart() throws IOException {
        return Files.readAllLines(examples.resolve("systemd/jvdpa.service")).stream()
                .filter(l -> l.startsWith("ExecStart=")).findFirst().map(l -> l.substring("ExecStart=".length()))
                .map(l -> List.of(l.trim().split("\\s+"))).orElseThrow();
    }

    private JsonNode dev(String... args) throws IOException {
        List<String> all = new ArrayList<>(List.of("dev"));
        all.addAll(List.of(args));
        all.add("--control-socket=" + control);
        return JSON.readTree(Jvdpa.run(all.toArray(String[]::new)).ok().out());
    }

    @Test
    void systemdUnitIsValidAndMatchesTheConfig() throws Exception {
        Path unit = dir.resolve("jvdpa.service");
        Files.writeString(unit, Files.readString(examples.resolve("systemd/jvdpa.service"))
                .replace("/opt/jvdpa/jvdpa", Jvdpa.launcher().toString()));
        Jvdpa.Result verify = Jvdpa.exec(List.of("systemd-analyze", "verify", "--man=no", unit.toString()), Map.of());
        assertThat(verify.status()).as(verify.err()).isZero();
        assertThat(verify.err() + verify.out()).as("systemd-analyze's complaints").isBlank();
        // The unit's runtime directory is where the example config puts every socket.
        assertThat(Files.readString(examples.resolve("systemd/jvdpa.service"))).contains("RuntimeDirectory=jvdpa\n");
        for (String line : Files.readAllLines(examples.resolve("jvdpa.yaml"))) {
            if (line.contains("socket")) {
                assertThat(line).contains("/run/jvdpa/");
            }
        }
    }

    @Test
    void qemuCommandLineGuestPingsThroughTheDaemon() throws Exception {
        List<String> argv = qemuArgv(examples.resolve("qemu/vm.sh"));
        assertThat(argv).anyMatch(a -> a.startsWith("memory-backend-memfd,id=mem,") && a.contains("share=on"));
        assertThat(argv).anyMatch(a -> a.contains("memory-backend=mem"));
        List<String> devices = deviceOptions(argv);
        assertThat(devices).contains("-netdev").anyMatch(a -> a.contains("path=" + run.resolve("net0.sock")));
        // QEMU's vhost-user net warns that it has no use for the CONFIG protocol feature jvdpa offers (and drops
        // it); that warning is allowed, any other complaint fails the test.
        try (QemuGuest guest = QemuGuest.builder(GuestArch.X86_64).name("example-qemu").failOnVhostError(false)
                .qemuArgs(devices.toArray(String[]::new)).start()) {
            guest.execOk(PING, SHORT);
            assertThat(guest.qemuErrors()).allMatch(l -> l.contains("VHOST_USER_PROTOCOL_F_CONFIG but QEMU does not"));
            diskKeepsWhatTheGuestWrites(guest, 1);
            assertThat(dev("config", "show", "disk0", "--json").get("driver").asText()).isEqualTo("modern");
            JsonNode config = dev("config", "show", "net0", "--json");
            assertThat(config.get("driver").asText()).isEqualTo("modern");
            assertThat(config.get("negotiatedFeatures").toString()).contains("\"VERSION_1\"", "\"MRG_RXBUF\"");
            assertThat(config.get("queues").get(0).get("started").asBoolean()).isTrue();
            assertThat(config.get("queues").get(1).get("started").asBoolean()).isTrue();
            JsonNode stats = dev("stats", "net0", "--json");
            assertThat(stats.get("queues").get(1).get("chains").asLong()).as("frames sent").isGreaterThanOrEqualTo(3);
            assertThat(stats.get("queues").get(0).get("usedChains").asLong()).as("frames received")
                    .isGreaterThanOrEqualTo(3);
            assertThat(dev("show", "net0", "--json").get("connected").asBoolean()).isTrue();
        }
    }

    @Test
    void legacyCommandLineGuestIsServedByTheSameDevices() throws Exception {
        List<String> devices = deviceOptions(qemuArgv(examples.resolve("qemu/legacy-vm.sh")));
        assertThat(devices).filteredOn(a -> a.startsWith("virtio-net-pci") || a.startsWith("vhost-user-blk-pci"))
                .hasSize(2).allMatch(a -> a.contains("disable-modern=on"));
        try (QemuGuest guest = QemuGuest.builder(GuestArch.X86_64).name("example-legacy").failOnVhostError(false)
                .qemuArgs(devices.toArray(String[]::new)).start()) {
            assertThat(guest.virtioDevices()).hasSize(2).noneMatch(d -> d.modern());
            guest.execOk(PING, SHORT);
            diskKeepsWhatTheGuestWrites(guest, 3);
            assertThat(guest.qemuErrors()).allMatch(l -> l.contains("VHOST_USER_PROTOCOL_F_CONFIG but QEMU does not"));
            for (String name : List.of("net0", "disk0")) {
                JsonNode config = dev("config", "show", name, "--json");
                assertThat(config.get("driver").asText()).as(name).isEqualTo("legacy");
                assertThat(config.get("negotiatedFeatures").toString()).as(name).doesNotContain("VERSION_1");
            }
        }
    }

    /** Random data written at {@code mib} MiB with direct I/O reads back the same, in the guest and in the image. */
    private void diskKeepsWhatTheGuestWrites(QemuGuest guest, int mib) throws Exception {
        assertThat(guest.execOk("cat /sys/block/vda/size", SHORT)).isEqualTo(Long.toString((1L << 30) / 512));
        guest.execOk("dd if=/dev/urandom of=/tmp/data bs=64k count=16 2>/dev/null", SHORT);
        String written = guest.execOk("sha256sum /tmp/data | cut -d' ' -f1", SHORT);
        guest.execOk("dd if=/tmp/data of=/dev/vda bs=64k seek=" + 16 * mib + " oflag=direct 2>/dev/null", SHORT);
        assertThat(guest.execOk("dd if=/dev/vda bs=64k skip=" + 16 * mib + " count=16 iflag=direct 2>/dev/null"
                + " | sha256sum | cut -d' ' -f1", SHORT)).isEqualTo(written);
        byte[] image = new byte[1 << 20];
        try (var f = new java.io.RandomAccessFile(dir.resolve("lib/disk0.img").toFile(), "r")) {
            f.seek((long) mib << 20);
            f.readFully(image);
        }
        assertThat(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(image)))
                .as("the image file on the host").isEqualTo(written);
        JsonNode stats = dev("stats", "disk0", "--json");
        assertThat(stats.get("queues").get(0).get("writtenBytes").asLong()).as("bytes read by the guest")
                .isGreaterThanOrEqualTo(1 << 20);
        assertThat(stats.get("queues").get(0).get("readBytes").asLong()).as("bytes written by the guest")
                .isGreaterThanOrEqualTo(1 << 20);
    }

    @Test
    void libvirtStartsTheDomainAndItsGuestPingsThroughTheDaemon() throws Exception {
        Path xml = examples.resolve("libvirt/jvdpa-vm.xml");
        Jvdpa.Result valid = Jvdpa.exec(List.of("virt-xml-validate", xml.toString(), "domain"), Map.of());
        assertThat(valid.status()).as(valid.err() + valid.out()).isZero();

        Path console = dir.resolve("console.sock");
        GuestImages images = GuestImages.of(GuestArch.X86_64);
        String domain = localize(Files.readString(xml))
                .replace("<domain type='kvm'>", "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>")
                .replace("<boot dev='hd'/>", "<kernel>" + images.kernel() + "</kernel><initrd>" + images.initramfs()
                        + "</initrd><cmdline>console=ttyS0 panic=-1</cmdline>")
                .replace("<serial type='pty'/>", "<serial type='unix'><source mode='bind' path='" + console + "'/></serial>")
                .replace("<console type='pty'/>", "")
                .replace("</domain>", "<qemu:override>" + noMsix("ua-net0") + noMsix("ua-disk0")
                        + "</qemu:override>\n</domain>");
        Path local = dir.resolve("jvdpa-vm.xml");
        Files.writeString(local, domain);
        Path root = libvirtRoot();
        String uri = "qemu:///embed?root=" + root;
        try {
            Jvdpa.Result create = Jvdpa.exec(List.of("timeout", "150", "virsh", "-q", "-c", uri, "create", local.toString()),
                    Map.of());
            assertThat(create.status()).as("virsh create: " + create.err() + create.out()).isZero();
            try (UnixConsole c = UnixConsole.connect(console, SHORT)) {
                c.sendUntil("echo up$((40+2))", Pattern.compile("up42"), Duration.ofSeconds(90));
                assertThat(c.run(PING, SHORT)).as(c.text()).isZero();
                assertThat(c.run("[ $(cat /sys/block/vda/size) = " + (1L << 30) / 512 + " ]"
                        + " && dd if=/dev/vda of=/dev/null bs=64k count=16 iflag=direct", SHORT)).as(c.text()).isZero();
            }
            JsonNode show = dev("show", "net0", "--json");
            assertThat(show.get("connected").asBoolean()).isTrue();
            assertThat(show.get("driver").asText()).isEqualTo("modern");
            assertThat(dev("stats", "net0", "--json").get("queues").get(1).get("chains").asLong()).isGreaterThanOrEqualTo(3);
            assertThat(dev("show", "disk0", "--json").get("driver").asText()).isEqualTo("modern");
        } finally {
            stopLibvirtGuest(root, "jvdpa-vm");
        }
    }

    private static String noMsix(String alias) {
        return "<qemu:device alias='" + alias + "'><qemu:frontend><qemu:property name='vectors' type='unsigned' value='0'/>"
                + "</qemu:frontend></qemu:device>";
    }

    /** An embedded libvirt QEMU driver rooted in this test's directory, running QEMU as root without confinement. */
    private Path libvirtRoot() throws IOException {
        Path root = dir.resolve("libvirt");
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/qemu.conf"), """
                user = "root"
                group = "root"
                namespaces = []
                stdio_handler = "file"
                cgroup_controllers = []
                security_driver = "none"
                """);
        // QEMU's capabilities take libvirt half a minute to probe: keep them between runs.
        Path cache = Path.of("target/libvirt-capabilities").toAbsolutePath();
        Path caps = Files.createDirectories(root.resolve("cache/qemu/capabilities"));
        if (Files.isDirectory(cache)) {
            try (Stream<Path> files = Files.list(cache)) {
                for (Path f : files.toList()) {
                    Files.copy(f, caps.resolve(f.getFileName()));
                }
            }
        }
        return root;
    }

    private void stopLibvirtGuest(Path root, String name) throws IOException {
        Path pidFile = root.resolve("run/qemu/" + name + ".pid");
        if (Files.exists(pidFile)) {
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            ProcessHandle.of(pid).ifPresent(p -> {
                p.destroy();
                try {
                    p.onExit().get(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    p.destroyForcibly();
                }
            });
        }
        Path caps = root.resolve("cache/qemu/capabilities");
        if (Files.isDirectory(caps)) {
            Path cache = Files.createDirectories(Path.of("target/libvirt-capabilities").toAbsolutePath());
            try (Stream<Path> files = Files.list(caps)) {
                for (Path f : files.toList()) {
                    Files.copy(f, cache.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /** The arguments the example script gives QEMU: the script runs with QEMU set to a program that prints them. */
    private List<String> qemuArgv(Path script) throws IOException {
        Path printer = dir.resolve("print-args");
        Files.writeString(printer, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n");
        printer.toFile().setExecutable(true);
        Jvdpa.Result r = Jvdpa.exec(List.of(script.toString()), Map.of("QEMU", printer.toString(),
                "JVDPA_RUN", run.toString()));
        assertThat(r.status()).as(r.err()).isZero();
        return r.out().lines().toList();
    }

    /**
     * The options that attach the devices: every -chardev, -netdev and -device, as written, except that a virtio PCI
     * device gets vectors=0 (QEMU 7.2's MSI-X crash under TCG). The harness supplies the same shared memory backend.
     */
    private static List<String> deviceOptions(List<String> argv) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i + 1 < argv.size(); i++) {
            String option = argv.get(i);
            if (option.equals("-chardev") || option.equals("-netdev") || option.equals("-device")) {
                String value = argv.get(++i);
                if (option.equals("-device") && value.matches("(virtio-net|vhost-user-blk)-pci,.*")) {
                    value += ",vectors=0";
                }
                out.add(option);
                out.add(value);
            }
        }
        return out;
    }

    private static void deleteTree(Path root) throws IOException {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

package io.jvdpa.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.blk.VirtioBlk;
import io.jvdpa.blk.VirtioBlkDevice;
import io.jvdpa.cli.daemon.CommandDeviceFactory;
import io.jvdpa.cli.daemon.HostedDevice;
import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.UnixServerSocket;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.ProtocolFeature;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BlkCommandTest {
    @TempDir
    Path dir;

    private record Run(int exit, String err) {}

    private static Run run(String... args) {
        StringWriter err = new StringWriter();
        picocli.CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        cl.setOut(new PrintWriter(new StringWriter()));
        int exit = cl.execute(args);
        return new Run(exit, err.toString());
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {
        "--queues  | 0          | --queues 0 is outside 1..64",
        "--queues  | 65         | --queues 65 is outside 1..64",
        "--queues  | many       | --queues",
        "--cache   | none       | --cache takes writeback or writethrough, not 'none'",
        "--size    | 12X        | --size '12X' is not a size like 64M",
        "--size    | -1G        | --size '-1G' is not a positive size",
        "--size    | 1000       | --size 1000 is not a multiple of 512 bytes",
        "--serial  | 123456789012345678901 | --serial: serial '123456789012345678901' is not printable ASCII of at most 20 bytes",
        "--legacy  | sometimes  | --legacy",
        "--workers | 0          | --workers 0"})
    void badFlagsAreUsageErrorsNamingTheFlag(String flag, String value, String message) {
        Path image = dir.resolve("never.img");
        Run r = run("blk", "--socket-path", dir.resolve("blk.sock").toString(), "--image", image.toString(), flag, value);
        assertThat(r.exit()).as(r.err()).isEqualTo(Main.EXIT_USAGE);
        assertThat(r.err()).contains(message);
        assertThat(image).doesNotExist();
        assertThat(dir.resolve("blk.sock")).doesNotExist();
    }

    @Test
    void socketAndImageAreRequiredAndHelpWorks() {
        Run r = run("blk", "--image", "x.img");
        assertThat(r.exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(r.err()).contains("--socket-path");
        r = run("blk", "--socket-path", dir.resolve("blk.sock").toString());
        assertThat(r.exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(r.err()).contains("--image");
        assertThat(run("blk", "--help").exit()).isZero();
        assertThat(run("blk", "--read-only", "--size", "1M", "--socket-path", "s", "--image", "i").err())
                .contains("--read-only");
    }

    @Test
    void anImageThatCannotBeHadIsAStartFailure() throws Exception {
        Path socket = dir.resolve("blk.sock");
        Run missing = run("blk", "--socket-path", socket.toString(), "--image", dir.resolve("missing.img").toString());
        assertThat(missing.exit()).isEqualTo(Main.EXIT_START);
        assertThat(missing.err()).contains("missing.img does not exist (give --size to create a sparse one)");
        Run directory = run("blk", "--socket-path", socket.toString(), "--image", dir.toString());
        assertThat(directory.exit()).isEqualTo(Main.EXIT_START);
        assertThat(directory.err()).contains("is a directory");
        Path small = dir.resolve("small.img");
        Files.write(small, new byte[4096]);
        Run mismatch = run("blk", "--socket-path", socket.toString(), "--image", small.toString(), "--size", "1M");
        assertThat(mismatch.exit()).isEqualTo(Main.EXIT_START);
        assertThat(mismatch.err()).contains("exists with 4096 bytes");
        assertThat(socket).doesNotExist();
    }

    @Test
    void sizesTakeBinarySuffixes() {
        assertThat(ByteSize.parse("--size", "64M")).isEqualTo(64L << 20);
        assertThat(ByteSize.parse("--size", "1G")).isEqualTo(1L << 30);
        assertThat(ByteSize.parse("--size", "2GiB")).isEqualTo(2L << 30);
        assertThat(ByteSize.parse("--size", "512k")).isEqualTo(512L << 10);
        assertThat(ByteSize.parse("--size", "4096")).isEqualTo(4096);
        assertThat(ByteSize.parse("--size", "1T")).isEqualTo(1L << 40);
    }

    @Test
    void theFlagsMakeADeviceOverASparseImage() throws Exception {
        Path socket = dir.resolve("blk.sock");
        Path image = dir.resolve("new.img");
        CommandDeviceFactory factory = new CommandDeviceFactory("blk", BlkCommand::new);
        try (HostedDevice hosted = factory.start("blk3", List.of("--socket-path", socket.toString(), "--image",
                image.toString(), "--size", "64M", "--queues", "2", "--serial", "SN-42", "--cache", "writethrough"));
             DriverSession s = DriverSession.connect(socket, 8 << 20)) {
            VirtioBlkDevice device = (VirtioBlkDevice) hosted.device();
            assertThat(device.config().serial()).isEqualTo("SN-42");
            assertThat(device.config().queues()).isEqualTo(2);
            assertThat(Files.size(image)).isEqualTo(64L << 20);
            s.negotiate(1L << 32, ProtocolFeature.maskOf(ProtocolFeature.values()));
            assertThat(s.protocolFeatures() & ProtocolFeature.INFLIGHT_SHMFD.mask()).isNotZero();
            byte[] config = s.frontend().getConfig(0, 36);
            MemorySegment c = MemorySegment.ofArray(config);
            assertThat(Endianness.LITTLE.u64(c, 0)).isEqualTo((64L << 20) / 512);
            assertThat(Endianness.LITTLE.u16(c, 34)).isEqualTo(2);
            assertThat(config[32]).as("writethrough").isZero();
        }
    }

    /** --client connects to a front-end that listens (QEMU's server=on); --read-only offers RO and no writes. */
    @Test
    void aReadOnlyDeviceConnectsToAListeningFrontEnd() throws Exception {
        Path socket = dir.resolve("frontend.sock");
        Path image = dir.resolve("ro.img");
        Files.write(image, new byte[1 << 20]);
        CommandDeviceFactory factory = new CommandDeviceFactory("blk", BlkCommand::new);
        try (UnixServerSocket frontEnd = UnixServerSocket.bind(socket);
             HostedDevice hosted = factory.start("blk-ro", List.of("--socket-path", socket.toString(), "--client",
                     "--image", image.toString(), "--read-only"));
             DriverSession s = DriverSession.over(frontEnd.accept(Duration.ofSeconds(10)), 8 << 20)) {
            assertThat(hosted.client()).isTrue();
            assertThat(((VirtioBlkDevice) hosted.device()).image().readOnly()).isTrue();
            long offered = s.frontend().getFeatures();
            assertThat(offered & (1L << VirtioBlk.F_RO)).as("RO").isNotZero();
            assertThat(offered & (1L << VirtioBlk.F_DISCARD | 1L << VirtioBlk.F_WRITE_ZEROES)).isZero();
            s.negotiate(1L << 32 | 1L << VirtioBlk.F_RO, ProtocolFeature.maskOf(ProtocolFeature.values()));
            assertThat(Endianness.LITTLE.u64(MemorySegment.ofArray(s.frontend().getConfig(0, 8)), 0))
                    .isEqualTo((1L << 20) / 512);
        }
    }

    @Test
    void theDefaultSerialIsTheImageName() {
        assertThat(BlkCommand.defaultSerial(Path.of("/var/lib/images/guest-disk-01.img"))).isEqualTo("guest-disk-01.img");
        assertThat(BlkCommand.defaultSerial(Path.of("a-very-long-image-name-indeed.raw"))).hasSize(20);
    }
}

package io.jvdpa.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.cli.daemon.CommandDeviceFactory;
import io.jvdpa.cli.daemon.HostedDevice;
import io.jvdpa.memory.Endianness;
import io.jvdpa.net.VirtioNetDevice;
import io.jvdpa.sys.UnixServerSocket;
import io.jvdpa.sys.UnixSocket;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.virtqueue.UsedBuffer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NetCommandTest {
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
        "--queue-pairs | 9           | --queue-pairs 9 is outside 1..8",
        "--queue-pairs | two         | --queue-pairs",
        "--mtu         | 40          | --mtu 40 is outside 68..65535",
        "--mac         | 52:54:00:12 | --mac: '52:54:00:12' is not a MAC address",
        "--mac         | 01:00:5e:00:00:01 | multicast",
        "--network     | bridge      | unknown network 'bridge'",
        "--network     | tap:        | needs a name",
        "--ip          | 10.0.2/24   | --ip: '10.0.2/24' is not an IPv4 address",
        "--packed      | maybe       | --packed takes on or off",
        "--workers     | 0           | --workers 0",
        "--worker-cpus | 0,1         | lists more CPUs than --workers 1: give one CPU per worker",
        "--worker-cpus | two         | --worker-cpus 'two' is not a CPU list like 2,3 or 2-3",
        "--worker-cpus | 3-1         | --worker-cpus: '3-1' is not a range of CPUs"})
    void badFlagsAreUsageErrorsNamingTheFlag(String flag, String value, String message) {
        Run r = run("net", "--socket-path", "/tmp/jvdpa-never-created.sock", flag, value);
        assertThat(r.exit()).as(r.err()).isEqualTo(Main.EXIT_USAGE);
        assertThat(r.err()).contains(message);
        assertThat(Path.of("/tmp/jvdpa-never-created.sock")).doesNotExist();
    }

    @Test
    void aNetworkThatCannotBeOpenedIsAStartFailure() {
        // "lo" exists and is not a TAP device: the kernel refuses to attach to it.
        Run r = run("net", "--socket-path", "/tmp/jvdpa-never-created.sock", "--network", "tap:lo");
        assertThat(r.exit()).as(r.err()).isEqualTo(Main.EXIT_START);
        assertThat(r.err()).contains("cannot open network tap:lo");
        assertThat(Path.of("/tmp/jvdpa-never-created.sock")).doesNotExist();
    }

    @Test
    void aWorkerCpuTheKernelRefusesIsAStartFailure() {
        Run r = run("net", "--socket-path", "/tmp/jvdpa-never-created.sock", "--workers", "2", "--worker-cpus", "0,1023");
        assertThat(r.exit()).as(r.err()).isEqualTo(Main.EXIT_START);
        assertThat(r.err()).contains("cannot start worker 1 on CPU 1023: sched_setaffinity");
        assertThat(Path.of("/tmp/jvdpa-never-created.sock")).doesNotExist();
    }

    @Test
    void theSocketPathIsRequiredAndHelpWorks() {
        assertThat(run("net").exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(run("net").err()).contains("--socket-path");
        assertThat(run("net", "--help").exit()).isZero();
    }

    @Test
    void theFlagsMakeADeviceThatAnswersThroughItsGateway() throws Exception {
        Path dir = Files.createTempDirectory("jvdpa-net-cli");
        Path socket = dir.resolve("net.sock");
        CommandDeviceFactory factory = new CommandDeviceFactory("net", NetCommand::new);
        try (HostedDevice hosted = factory.start("net7", List.of("--socket-path", socket.toString(),
                "--ip", "192.168.9.1/24", "--mac", "02:00:00:00:07:07", "--queue-pairs", "2", "--mtu", "9000"));
             DriverSession s = DriverSession.connect(socket, 8 << 20)) {
            VirtioNetDevice device = (VirtioNetDevice) hosted.device();
            assertThat(device.queuePairs()).isEqualTo(2);
            assertThat(device.network().describe()).startsWith("gateway 192.168.9.1/24");
            s.negotiate(1L << 32, ProtocolFeature.maskOf(ProtocolFeature.values()));
            byte[] config = s.frontend().getConfig(0, 12);
            assertThat(config).startsWith(2, 0, 0, 0, 7, 7);
            assertThat(Endianness.LITTLE.u16(MemorySegment.ofArray(config), 10)).isEqualTo(9000);
            assertTheGatewayAnswersArp(s);
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    /** --client connects to a front-end that listens (QEMU's server=on), serves it, and reconnects when it goes. */
    @Test
    void aClientDeviceServesAListeningFrontEndAndReconnects() throws Exception {
        Path dir = Files.createTempDirectory("jvdpa-net-cli");
        Path socket = dir.resolve("frontend.sock");
        CommandDeviceFactory factory = new CommandDeviceFactory("net", NetCommand::new);
        try (UnixServerSocket frontEnd = UnixServerSocket.bind(socket);
             HostedDevice hosted = factory.start("net-client", List.of("--socket-path", socket.toString(), "--client",
                     "--ip", "192.168.9.1/24"))) {
            assertThat(hosted.client()).isTrue();
            for (int connection = 1; connection <= 2; connection++) {
                UnixSocket accepted = frontEnd.accept(Duration.ofSeconds(10));
                assertThat(accepted).as("connection %d from the device", connection).isNotNull();
                try (DriverSession s = DriverSession.over(accepted, 8 << 20)) {
                    s.negotiate(1L << 32, ProtocolFeature.maskOf(ProtocolFeature.values()));
                    assertTheGatewayAnswersArp(s);
                }
            }
            assertThat(hosted.runner().endpoint().connections()).isGreaterThanOrEqualTo(2);
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    /** Sends an ARP request for 192.168.9.1 and waits for the gateway's reply on the first receive queue. */
    private static void assertTheGatewayAnswersArp(DriverSession s) throws Exception {
        DriverRing rx = s.setUpRing(0, 64, Endianness.LITTLE);
        DriverRing tx = s.setUpRing(1, 64, Endianness.LITTLE);
        long in = s.ram().allocate(2048, 8);
        rx.queue().post(in, 2048, true, 1);
        rx.publishAndKick();
        // An ARP request for 192.168.9.1 after a 12-byte header of zeros.
        byte[] arp = {-1, -1, -1, -1, -1, -1, 2, 0, 0, 0, 0, 1, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1,
            2, 0, 0, 0, 0, 1, (byte) 192, (byte) 168, 9, 2, 0, 0, 0, 0, 0, 0, (byte) 192, (byte) 168, 9, 1};
        long out = s.ram().allocate(12 + arp.length, 8);
        MemorySegment.copy(arp, 0, s.ram().at(out + 12, arp.length), ValueLayout.JAVA_BYTE, 0, arp.length);
        tx.queue().post(out, 12 + arp.length, false, 2);
        tx.publishAndKick();
        rx.awaitUsed(new UsedBuffer(), Duration.ofSeconds(5));
        byte[] reply = s.ram().at(in + 12, 42).toArray(ValueLayout.JAVA_BYTE);
        assertThat(reply[21]).as("ARP reply").isEqualTo((byte) 2);
        assertThat(java.util.Arrays.copyOfRange(reply, 28, 32)).containsExactly(192, 168, 9, 1);
    }
}

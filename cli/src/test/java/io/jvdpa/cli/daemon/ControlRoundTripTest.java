package io.jvdpa.cli.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

import com.fasterxml.jackson.databind.JsonNode;
import io.jvdpa.cli.DeviceRunner;
import io.jvdpa.cli.Main;
import io.jvdpa.cli.control.ControlServer;
import io.jvdpa.cli.control.Json;
import io.jvdpa.memory.Endianness;
import io.jvdpa.sys.EventFd;
import io.jvdpa.vhostuser.DriverRing;
import io.jvdpa.vhostuser.DriverSession;
import io.jvdpa.vhostuser.GuestRam;
import io.jvdpa.vhostuser.ProtocolFeature;
import io.jvdpa.vhostuser.VhostUserException;
import io.jvdpa.virtqueue.UsedBuffer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/** {@code jvdpa dev ...} against a daemon's control socket in this JVM, with a test device type. */
class ControlRoundTripTest {
    private Path dir;
    private Path control;
    private DeviceHost host;
    private ControlServer server;

    record Run(int status, String out, String err) {}

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("jvdpa-control");
        control = dir.resolve("run/control.sock");
        host = new DeviceHost(SinkCommand.types());
        server = ControlServer.start(control, new DaemonService(host));
    }

    @AfterEach
    void tearDown() throws Exception {
        server.close();
        host.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private Run jvdpa(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--control-socket=" + control);
        int status = cl.execute(all.toArray(String[]::new));
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void theControlSocketIsPrivateToItsUser() throws Exception {
        assertThat(Files.getPosixFilePermissions(control)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.getPosixFilePermissions(control.getParent())).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    }

    @Test
    void addListShowDelete() throws Exception {
        Path s0 = dir.resolve("s0.sock");
        Run add = jvdpa("dev", "add", "s0", "sink", "--socket-path", s0.toString(), "--legacy", "le-only");
        assertThat(add.status()).as(add.err()).isZero();
        assertThat(add.out()).contains("name", "s0").contains("le-only");
        assertThat(Files.getPosixFilePermissions(s0)).isEqualTo(PosixFilePermissions.fromString("rw-------"));

        Run list = jvdpa("dev", "list");
        assertThat(list.status()).isZero();
        assertThat(list.out().lines().toList()).hasSize(2);
        assertThat(list.out()).startsWith("NAME").contains("s0", "sink", s0.toString(), "server", "unknown", "0/2");

        JsonNode json = Json.WIRE.readTree(jvdpa("dev", "list", "--json").out());
        assertThat(json.isArray()).isTrue();
        assertThat(json.get(0).get("name").asText()).isEqualTo("s0");
        assertThat(json.get(0).get("args").toString()).contains("le-only");

        Run show = jvdpa("dev", "show", "s0", "--json");
        assertThat(Json.WIRE.readTree(show.out()).get("profile").get("legacy").asText()).isEqualTo("le-only");

        Run del = jvdpa("dev", "del", "s0");
        assertThat(del.status()).as(del.err()).isZero();
        assertThat(s0).doesNotExist();
        assertThat(SinkCommand.CREATED.getLast().closed).isTrue();
        assertThat(jvdpa("dev", "list").out().lines().toList()).hasSize(1);
    }

    @Test
    void configAndStatsFollowTheDriver() throws Exception {
        Path s1 = dir.resolve("s1.sock");
        assertThat(jvdpa("dev", "add", "s1", "sink", "--socket-path", s1.toString()).status()).isZero();
        try (DriverSession s = DriverSession.connect(s1, 1 << 20)) {
            s.negotiate(1L << 32 | 1L << 1, ProtocolFeature.maskOf(ProtocolFeature.values()));
            DriverRing r = s.setUpRing(0, 64, Endianness.LITTLE);
            exchange(s, r, 5);
            Run config = jvdpa("dev", "config", "show", "s1");
            assertThat(config.status()).as(config.err()).isZero();
            assertThat(config.out()).contains("driver", "modern", "SINK_TEST", "VERSION_1", "REPLY_ACK",
                    "VERSION_1 acked in SET_FEATURES");
            assertThat(config.out()).containsPattern("(?m)^0\\s+64\\s+yes\\s+yes\\s+little$");
            assertThat(config.out()).containsPattern("(?m)^1\\s+0\\s+no\\s+no\\s+little$");

            JsonNode stats = Json.WIRE.readTree(jvdpa("dev", "stats", "s1", "--json").out());
            JsonNode q0 = stats.get("queues").get(0);
            assertThat(q0.get("chains").asLong()).isEqualTo(5);
            assertThat(q0.get("usedChains").asLong()).isEqualTo(5);
            assertThat(q0.get("readBytes").asLong()).isEqualTo(500);
            assertThat(q0.get("writtenBytes").asLong()).isEqualTo(200);
            assertThat(q0.get("kicks").asLong()).isBetween(1L, 5L);
            // One as the ring started, then at most one per request.
            assertThat(q0.get("calls").asLong()).isBetween(2L, 6L);
            assertThat(q0.get("broken").asBoolean()).isFalse();

            Run table = jvdpa("dev", "stats", "s1");
            assertThat(table.out()).startsWith("QUEUE").containsPattern("(?m)^0\\s+yes\\s+\\d+\\s+\\d+\\s+5\\s+500\\s+5\\s+200\\s+0\\s+no$");

            Run show = jvdpa("dev", "show", "s1");
            assertThat(show.out()).containsPattern("connected\\s+yes").containsPattern("driver\\s+modern")
                    .contains("ACKNOWLEDGE DRIVER DRIVER_OK FEATURES_OK".substring(0, 0));
        }
    }

    /** What the device serves, stated in full before any driver comes: in dev show and in the start-up log. */
    @Test
    void theWholeProfileIsShownAndLogged() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(DeviceRunner.class);
        ListAppender<ILoggingEvent> log = new ListAppender<>();
        log.start();
        logger.addAppender(log);
        try {
            Path auto = dir.resolve("auto.sock");
            Path strict = dir.resolve("strict.sock");
            assertThat(jvdpa("dev", "add", "auto", "sink", "--socket-path", auto.toString()).status()).isZero();
            assertThat(jvdpa("dev", "add", "strict", "sink", "--socket-path", strict.toString(), "--legacy", "le-only",
                    "--packed", "off", "--any-layout", "off").status()).isZero();

            Run show = jvdpa("dev", "show", "auto");
            assertThat(show.out()).containsPattern("(?m)^queues\\s+0 started of 2$")
                    .containsPattern("(?m)^legacy\\s+auto$")
                    .containsPattern("(?m)^byte orders\\s+modern little-endian, legacy little-endian, legacy big-endian$")
                    .containsPattern("(?m)^packed\\s+on$").containsPattern("(?m)^any-layout\\s+on$")
                    .containsPattern("(?m)^order-platform\\s+off$");
            Run strictShow = jvdpa("dev", "show", "strict");
            assertThat(strictShow.out()).containsPattern("(?m)^legacy\\s+le-only$")
                    .containsPattern("(?m)^byte orders\\s+modern little-endian, legacy little-endian$")
                    .containsPattern("(?m)^packed\\s+off$").containsPattern("(?m)^any-layout\\s+off$")
                    .containsPattern("(?m)^order-platform\\s+off$");

            JsonNode profile = Json.WIRE.readTree(jvdpa("dev", "show", "strict", "--json").out()).get("profile");
            assertThat(profile.get("legacy").asText()).isEqualTo("le-only");
            assertThat(profile.get("byteOrders").toString()).isEqualTo("[\"modern little-endian\",\"legacy little-endian\"]");
            assertThat(profile.get("packed").asBoolean()).isFalse();
            assertThat(profile.get("queues").asInt()).isEqualTo(2);
            assertThat(profile.get("anyLayout").asBoolean()).isFalse();
            assertThat(profile.get("orderPlatform").asBoolean()).isFalse();
            // What the profile says is what is offered.
            JsonNode offered = Json.WIRE.readTree(jvdpa("dev", "config", "show", "strict", "--json").out())
                    .get("offeredFeatures");
            assertThat(offered.toString()).doesNotContain("RING_PACKED", "ANY_LAYOUT", "ORDER_PLATFORM");

            assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage)
                    .contains("auto: sink device listening on " + auto + " (event mode); profile: legacy auto (modern"
                            + " little-endian, legacy little-endian, legacy big-endian), packed on, 2 queues, any-layout on,"
                            + " order-platform off")
                    .contains("strict: sink device listening on " + strict + " (event mode); profile: legacy le-only"
                            + " (modern little-endian, legacy little-endian), packed off, 2 queues, any-layout off,"
                            + " order-platform off");
        } finally {
            logger.detachAppender(log);
        }
    }

    /** A big-endian legacy driver (CROSS_ENDIAN, SET_VRING_ENDIAN big): config show says big where it holds. */
    @Test
    void configShowSaysBigForABigEndianLegacyDriver() throws Exception {
        Path be = dir.resolve("be.sock");
        assertThat(jvdpa("dev", "add", "be", "sink", "--socket-path", be.toString()).status()).isZero();
        try (DriverSession s = DriverSession.connect(be, 1 << 20)) {
            s.negotiate(1L << 1, ProtocolFeature.maskOf(ProtocolFeature.values()));
            DriverRing r = s.setUpRing(0, 64, Endianness.BIG);
            exchange(s, r, 3);

            Run config = jvdpa("dev", "config", "show", "be");
            assertThat(config.status()).as(config.err()).isZero();
            assertThat(config.out()).containsPattern("(?m)^driver\\s+legacy$").containsPattern("(?m)^byte order\\s+big$")
                    .contains("CROSS_ENDIAN", "SET_VRING_ENDIAN queue 0: BIG");
            assertThat(config.out()).containsPattern("(?m)^0\\s+64\\s+yes\\s+yes\\s+big$");
            // Queue 1 has no SET_VRING_ENDIAN of its own: it would start in the device-wide order, big.
            assertThat(config.out()).containsPattern("(?m)^1\\s+0\\s+no\\s+no\\s+big$");
            JsonNode json = Json.WIRE.readTree(jvdpa("dev", "config", "show", "be", "--json").out());
            assertThat(json.get("deviceOrder").asText()).isEqualTo("big");
            assertThat(json.get("queues").get(0).get("order").asText()).isEqualTo("big");
        }
    }

    /** A descriptor outside guest memory breaks its queue: stats count the error there, and only there. */
    @Test
    void statsShowTheQueueAHostileRingBroke() throws Exception {
        Path hostile = dir.resolve("hostile.sock");
        assertThat(jvdpa("dev", "add", "hostile", "sink", "--socket-path", hostile.toString()).status()).isZero();
        try (DriverSession s = DriverSession.connect(hostile, 1 << 20); EventFd err = EventFd.create()) {
            s.negotiate(1L << 32 | 1L << 1, ProtocolFeature.maskOf(ProtocolFeature.values()));
            DriverRing broken = s.setUpRing(0, 64, Endianness.LITTLE);
            DriverRing healthy = s.setUpRing(1, 64, Endianness.LITTLE);
            s.frontend().setVringErr(0, err.fd());
            // Below guest RAM: in no region the front-end gave.
            assertThat(broken.queue().post(new long[] {0x1000, GuestRam.GUEST_BASE}, new int[] {8, 8}, 1, 1, 1)).isTrue();
            broken.publishAndKick();
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (err.drain() == 0) {
                assertThat(System.nanoTime()).as("queue 0 reported broken").isLessThan(deadline);
                Thread.sleep(5);
            }
            exchange(s, healthy, 2);

            JsonNode stats = Json.WIRE.readTree(jvdpa("dev", "stats", "hostile", "--json").out());
            JsonNode q0 = stats.get("queues").get(0);
            assertThat(q0.get("errors").asLong()).isGreaterThanOrEqualTo(1);
            assertThat(q0.get("broken").asBoolean()).isTrue();
            assertThat(q0.get("brokenReason").asText()).isNotBlank();
            JsonNode q1 = stats.get("queues").get(1);
            assertThat(q1.get("errors").asLong()).isZero();
            assertThat(q1.get("broken").asBoolean()).isFalse();
            assertThat(q1.get("usedChains").asLong()).isEqualTo(2);

            Run table = jvdpa("dev", "stats", "hostile");
            assertThat(table.out()).containsPattern("(?m)^0\\s+yes(\\s+\\d+){6}\\s+[1-9]\\d*\\s+yes$")
                    .containsPattern("(?m)^1\\s+yes(\\s+\\d+){6}\\s+0\\s+no$")
                    .containsPattern("(?m)^queue 0 broken: .+$").doesNotContain("queue 1 broken");
        }
    }

    /** Refusals are counters too: dev stats has them with the last reason. */
    @Test
    void statsCountRefusals() throws Exception {
        Path le = dir.resolve("le.sock");
        assertThat(jvdpa("dev", "add", "le", "sink", "--socket-path", le.toString(), "--legacy", "le-only").status())
                .isZero();
        assertThat(jvdpa("dev", "stats", "le").out()).containsPattern("(?m)^refusals: 0$");
        try (DriverSession s = DriverSession.connect(le, 1 << 20)) {
            s.negotiate(1L << 1, ProtocolFeature.maskOf(ProtocolFeature.values()));
            assertThatThrownBy(() -> s.setUpRing(0, 64, Endianness.BIG)).isInstanceOf(VhostUserException.class);
        }
        JsonNode stats = Json.WIRE.readTree(jvdpa("dev", "stats", "le", "--json").out());
        assertThat(stats.get("refusals").asLong()).isEqualTo(1);
        assertThat(stats.get("lastRefusal").asText()).isEqualTo("legacy big-endian driver refused: profile --legacy le-only");
        assertThat(jvdpa("dev", "stats", "le").out()).containsPattern(
                "(?m)^refusals: 1 \\(last: legacy big-endian driver refused: profile --legacy le-only\\)$");
    }

    /** Posts {@code n} chains of 100 readable and 40 writable bytes on {@code r} and waits for each to come back. */
    private static void exchange(DriverSession s, DriverRing r, int n) throws Exception {
        long buf = s.ram().allocate(512, 16);
        for (int i = 0; i < n; i++) {
            assertThat(r.queue().post(new long[] {buf, buf + 100}, new int[] {100, 40}, 1, 1, i)).isTrue();
            r.publishAndKick();
            r.awaitUsed(new UsedBuffer(), Duration.ofSeconds(5));
        }
    }

    @Test
    void failuresEndWithTheirExitCodeAndAClearMessage() throws Exception {
        Run missing = jvdpa("dev", "show", "nosuch");
        assertThat(missing.status()).isEqualTo(Main.EXIT_RUNTIME);
        assertThat(missing.err()).contains("no device named 'nosuch'");
        assertThat(missing.out()).isEmpty();
        Run missingJson = jvdpa("dev", "show", "nosuch", "--json");
        assertThat(missingJson.status()).isEqualTo(Main.EXIT_RUNTIME);
        JsonNode error = Json.WIRE.readTree(missingJson.out());
        assertThat(error.get("ok").asBoolean()).isFalse();
        assertThat(error.get("kind").asText()).isEqualTo("not-found");
        assertThat(error.get("error").asText()).contains("no device named 'nosuch'");

        Run badFlag = jvdpa("dev", "add", "x", "sink", "--socket-path", dir.resolve("x.sock").toString(), "--bogus");
        assertThat(badFlag.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(badFlag.err()).contains("x: Unknown option: '--bogus'");

        Run badValue = jvdpa("dev", "add", "x", "sink", "--socket-path", dir.resolve("x.sock").toString(), "--depth", "0");
        assertThat(badValue.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(badValue.err()).contains("--depth 0 is below 1");

        Run badProfile = jvdpa("dev", "add", "x", "sink", "--socket-path", dir.resolve("x.sock").toString(), "--legacy", "maybe");
        assertThat(badProfile.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(badProfile.err()).contains("unknown legacy policy 'maybe'");

        Run badType = jvdpa("dev", "add", "x", "tape");
        assertThat(badType.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(badType.err()).contains("unknown device type 'tape'");

        Run badName = jvdpa("dev", "add", "../x", "sink", "--socket-path", dir.resolve("x.sock").toString());
        assertThat(badName.status()).isEqualTo(Main.EXIT_USAGE);

        Run cannotStart = jvdpa("dev", "add", "x", "sink", "--socket-path", dir.resolve("no/such/dir/x.sock").toString());
        assertThat(cannotStart.status()).isEqualTo(Main.EXIT_START);
        assertThat(cannotStart.err()).contains("x: cannot listen on");

        Run unavailable = jvdpa("dev", "add", "x", "sink", "--socket-path", dir.resolve("x.sock").toString(), "--unavailable");
        assertThat(unavailable.status()).isEqualTo(Main.EXIT_START);
        assertThat(unavailable.err()).contains("the sink is unavailable");
        assertThat(host.list()).isEmpty();

        assertThat(jvdpa("dev", "add", "x", "sink", "--socket-path", dir.resolve("x.sock").toString()).status()).isZero();
        Run twice = jvdpa("dev", "add", "x", "sink", "--socket-path", dir.resolve("y.sock").toString());
        assertThat(twice.status()).isEqualTo(Main.EXIT_RUNTIME);
        assertThat(twice.err()).contains("already exists");

        Run sameSocket = jvdpa("dev", "add", "y", "sink", "--socket-path", dir.resolve("x.sock").toString());
        assertThat(sameSocket.status()).isEqualTo(Main.EXIT_START);

        Run noArg = jvdpa("dev", "show");
        assertThat(noArg.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(noArg.err()).contains("Missing required parameter: 'NAME'");
    }

    @Test
    void noDaemonIsARuntimeFailure() {
        CommandLine cl = Main.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err, true));
        int status = cl.execute("dev", "list", "--control-socket", dir.resolve("none.sock").toString());
        assertThat(status).isEqualTo(Main.EXIT_RUNTIME);
        assertThat(err.toString()).contains("no jvdpa daemon at").contains("none.sock");
    }

    @Test
    void closingRemovesTheSocketAndRefusesLaterRequests() throws Exception {
        server.close(Duration.ofSeconds(5));
        assertThat(control).doesNotExist();
        assertThat(jvdpa("dev", "list").status()).isEqualTo(Main.EXIT_RUNTIME);
    }
}

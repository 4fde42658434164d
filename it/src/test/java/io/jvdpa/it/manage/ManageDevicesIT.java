package io.jvdpa.it.manage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvdpa.testing.ManagedProcess;
import io.jvdpa.testing.Testpmd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A daemon hosting net and blk devices from its config file, managed through the launcher: list, show, add and delete
 * devices; their negotiated view and counters while DPDK's virtio-user drives one; jvdpa's probe proving every
 * driver kind against jvdpa's own device, and a profile's refusal counted; every socket gone after SIGTERM.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class ManageDevicesIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private Path control;

    private Jvdpa.Result jvdpa(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--control-socket=" + control);
        return Jvdpa.run(all.toArray(String[]::new));
    }

    private JsonNode json(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--json");
        return JSON.readTree(jvdpa(all.toArray(String[]::new)).ok().out());
    }

    @Test
    void hostsAndManagesDevices() throws Exception {
        Jvdpa.build();
        control = dir.resolve("control.sock");
        Path net0 = dir.resolve("net0.sock");
        Path net1 = dir.resolve("net1.sock");
        Path net2 = dir.resolve("net2.sock");
        Path disk0 = dir.resolve("disk0.sock");
        Path config = dir.resolve("jvdpa.yaml");
        Files.writeString(config, """
                control-socket: %s
                devices:
                  - name: net0
                    type: net
                    socket-path: %s
                  - name: net1
                    type: net
                    socket-path: %s
                    legacy: "off"
                    packed: false
                    mac: "52:54:00:00:00:11"
                  - name: disk0
                    type: blk
                    socket-path: %s
                    image: %s
                    size: 16M
                    serial: probe-me
                """.formatted(control, net0, net1, disk0, dir.resolve("disk0.img")));
        try (ManagedProcess daemon = Jvdpa.start("daemon-devices", Map.of(), "daemon", "--config", config.toString())) {
            Jvdpa.awaitReady(daemon);
            assertThat(Files.getPosixFilePermissions(net0)).isEqualTo(PosixFilePermissions.fromString("rw-------"));

            Jvdpa.Result list = jvdpa("dev", "list").ok();
            assertThat(list.out().lines().toList()).hasSize(4);
            assertThat(list.out()).containsPattern("disk0\\s+blk\\s+" + disk0 + "\\s+server\\s+no\\s+unknown\\s+0/1");
            assertThat(list.out()).containsPattern("net0\\s+net\\s+" + net0 + "\\s+server\\s+no\\s+unknown\\s+0/3");
            assertThat(list.out()).containsPattern("net1\\s+net\\s+" + net1);
            Jvdpa.Result show = jvdpa("dev", "show", "net1").ok();
            assertThat(show.out()).containsPattern("legacy\\s+off").containsPattern("packed\\s+off")
                    .contains("--legacy=off", "--mac=52:54:00:00:00:11");

            // dev add takes exactly the flags of `jvdpa net`.
            Jvdpa.Result add = jvdpa("dev", "add", "net2", "net", "--socket-path", net2.toString(), "--network", "reflect");
            assertThat(add.status()).as(add.err()).isZero();
            assertThat(add.out()).containsPattern("name\\s+net2").containsPattern("queues\\s+0 started of 3");
            assertThat(net2).exists();
            assertThat(json("dev", "list")).hasSize(4);

            expect(jvdpa("dev", "add", "bad", "net", "--socket-path", dir.resolve("bad.sock").toString(),
                    "--queue-pairs", "9"), 2, "--queue-pairs 9 is outside 1..8");
            expect(jvdpa("dev", "add", "bad", "net", "--socket-path", dir.resolve("bad.sock").toString(),
                    "--network", "ether"), 2, "unknown network 'ether'");
            expect(jvdpa("dev", "add", "bad", "net", "--socket-path", "x", "--queue-pair", "2"), 2,
                    "Unknown options: '--queue-pair', '2'");
            expect(jvdpa("dev", "add", "bad", "net"), 2, "Missing required option: '--socket-path=PATH'");
            expect(jvdpa("dev", "add", "bad", "blob", "--socket-path", "x"), 2, "unknown device type 'blob'");
            expect(jvdpa("dev", "add", "net2", "net", "--socket-path", dir.resolve("other.sock").toString()), 1,
                    "a device named 'net2' already exists");
            expect(jvdpa("dev", "add", "bad", "net", "--socket-path", net0.toString()), 3, "cannot listen on " + net0);
            expect(jvdpa("dev", "del", "bad"), 1, "no device named 'bad'");
            expect(jvdpa("dev", "add", "bad", "blk", "--socket-path", dir.resolve("bad.sock").toString(), "--image",
                    dir.resolve("bad.img").toString(), "--cache", "sometimes"), 2, "--cache");
            expect(jvdpa("dev", "add", "bad", "blk", "--socket-path", dir.resolve("bad.sock").toString()), 2,
                    "Missing required option: '--image=FILE'");
            expect(jvdpa("dev", "add", "bad", "blk", "--socket-path", dir.resolve("bad.sock").toString(), "--image",
                    dir.resolve("missing.img").toString()), 3, "missing.img");
            assertThat(dir.resolve("bad.sock")).doesNotExist();

            // jvdpa's own device serves every driver kind, each proven by a frame through its rings.
            JsonNode probe = JSON.readTree(Jvdpa.run("probe", "--socket-path", net0.toString(), "--traffic", "--json")
                    .ok().out());
            assertThat(probe.get("deviceType").asText()).isEqualTo("net");
            assertThat(probe.get("protocolFeatures").toString()).contains("CROSS_ENDIAN");
            for (String kind : List.of("modern LE", "legacy LE", "legacy BE", "packed")) {
                ProbeIT.assertVerdict(probe, kind, "yes", "exchange", "came back on receiveq1");
            }
            JsonNode disk = JSON.readTree(Jvdpa.run("probe", "--socket-path", disk0.toString(), "--traffic", "--json")
                    .ok().out());
            assertThat(disk.get("deviceType").asText()).isEqualTo("blk");
            assertThat(disk.get("config").get("capacity_bytes").asLong()).isEqualTo(16 << 20);
            for (String kind : List.of("modern LE", "legacy LE", "legacy BE", "packed")) {
                ProbeIT.assertVerdict(disk, kind, "yes", "exchange", "GET_ID answered OK (serial 'probe-me')");
            }
            // A profile that serves no legacy driver says so, and the refusal is counted and named.
            JsonNode strict = JSON.readTree(Jvdpa.run("probe", "--socket-path", net1.toString(), "--traffic", "--json")
                    .ok().out());
            ProbeIT.assertVerdict(strict, "modern LE", "yes", "exchange", "transmitq1 was used");
            ProbeIT.assertVerdict(strict, "legacy LE", "no", "exchange", "refused while negotiating a legacy driver");
            ProbeIT.assertVerdict(strict, "packed", "no", "features", "RING_PACKED not offered");
            JsonNode refused = json("dev", "show", "net1");
            assertThat(refused.get("refusals").asLong()).isPositive();
            assertThat(refused.get("lastRefusal").asText()).contains("legacy driver refused: profile --legacy off");

            // DPDK's virtio-user drives net2 (packed ring): config and counters follow. It sends one burst first
            // and then only receives, so the reflected burst comes back without flooding the machine.
            try (Testpmd frontend = Testpmd.virtioUserFrontend(net2).packed(true)
                    .forwardMode(Testpmd.ForwardMode.RXONLY).appArgs("--tx-first").start()) {
                JsonNode cfg = json("dev", "config", "show", "net2");
                assertThat(cfg.get("driver").asText()).isEqualTo("modern");
                assertThat(cfg.get("negotiatedFeatures").toString()).contains("\"RING_PACKED\"", "\"VERSION_1\"");
                assertThat(cfg.get("deviceOrder").asText()).isEqualTo("little");
                assertThat(cfg.get("evidence").toString()).contains("VERSION_1 acked in SET_FEATURES");
                assertThat(cfg.get("queues").get(0).get("started").asBoolean()).isTrue();
                assertThat(cfg.get("queues").get(0).get("size").asInt()).isPositive();
                assertThat(cfg.get("queues").get(0).get("order").asText()).isEqualTo("little");
                Jvdpa.Result cfgTable = jvdpa("dev", "config", "show", "net2").ok();
                assertThat(cfgTable.out()).containsPattern("driver\\s+modern").contains("RING_PACKED")
                        .containsPattern("(?m)^QUEUE\\s+SIZE\\s+STARTED\\s+ENABLED\\s+ORDER$");

                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                JsonNode stats;
                do {
                    Thread.sleep(500);
                    stats = json("dev", "stats", "net2");
                } while (stats.get("queues").get(0).get("usedChains").asLong() < 32 && System.nanoTime() < deadline);
                JsonNode rx = stats.get("queues").get(0);
                JsonNode tx = stats.get("queues").get(1);
                assertThat(tx.get("chains").asLong()).as("frames sent by testpmd").isGreaterThanOrEqualTo(32);
                assertThat(tx.get("readBytes").asLong()).isGreaterThanOrEqualTo(64 * 32);
                assertThat(rx.get("usedChains").asLong()).as("frames reflected to testpmd").isGreaterThanOrEqualTo(32);
                assertThat(rx.get("writtenBytes").asLong()).isPositive();
                assertThat(tx.get("errors").asLong()).isZero();
                assertThat(tx.get("broken").asBoolean()).isFalse();
                assertThat(jvdpa("dev", "stats", "net2").ok().out())
                        .containsPattern("(?m)^QUEUE\\s+STARTED\\s+KICKS\\s+CALLS\\s+CHAINS\\s+READ\\s+USED\\s+WRITTEN\\s+ERRORS\\s+BROKEN$")
                        .containsPattern("(?m)^1\\s+yes\\s+\\d+\\s+\\d+\\s+[1-9]\\d*\\s+");
                assertThat(json("dev", "show", "net2").get("connected").asBoolean()).isTrue();

                // Deleting a device in use disconnects its front-end and removes its socket.
                jvdpa("dev", "del", "net2").ok();
                assertThat(net2).doesNotExist();
                assertThat(json("dev", "list")).hasSize(3);
            }

            daemon.signal("TERM");
            assertThat(daemon.waitFor(Duration.ofSeconds(30))).as(daemon.describe()).isZero();
            assertThat(net0).doesNotExist();
            assertThat(net1).doesNotExist();
            assertThat(disk0).doesNotExist();
            assertThat(dir.resolve("disk0.img")).exists();
            assertThat(control).doesNotExist();
        }
    }

    private static void expect(Jvdpa.Result r, int status, String message) {
        assertThat(r.status()).as("stderr: %s", r.err()).isEqualTo(status);
        assertThat(r.err()).contains(message);
    }
}

package io.jvdpa.it.manage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jvdpa.testing.StorageDaemon;
import io.jvdpa.testing.Testpmd;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jvdpa probe} against other projects' back-ends: DPDK's vhost PMD and qemu-storage-daemon's
 * vhost-user-blk export. Each verdict the probe gives with --traffic is what real guests meet (see the reference
 * ITs): DPDK serves modern, legacy LE and packed but not big-endian legacy; qemu-storage-daemon serves modern only.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ProbeIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @BeforeAll
    static void build() {
        Jvdpa.build();
    }

    static JsonNode verdict(JsonNode report, String driver) {
        for (JsonNode v : report.get("verdicts")) {
            if (v.get("driver").asText().equals(driver)) {
                return v;
            }
        }
        throw new AssertionError("no verdict for " + driver + " in " + report);
    }

    static void assertVerdict(JsonNode report, String driver, String supported, String proof, String reasonPart) {
        JsonNode v = verdict(report, driver);
        assertThat(v.get("supported").asText()).as("%s: %s", driver, v).isEqualTo(supported);
        assertThat(v.get("proof").asText()).as("%s: %s", driver, v).isEqualTo(proof);
        assertThat(v.get("reason").asText()).as("%s: %s", driver, v).contains(reasonPart);
    }

    @Test
    void dpdkVhostPmd() throws Exception {
        Path socket = dir.resolve("dpdk.sock");
        try (Testpmd testpmd = Testpmd.vhostBackend(socket).forwardMode(Testpmd.ForwardMode.IO).start()) {
            JsonNode r = JSON.readTree(Jvdpa.run("probe", "--socket-path", socket.toString(), "--traffic", "--json")
                    .ok().out());
            assertThat(r.get("deviceType").asText()).isEqualTo("net");
            assertThat(r.get("typeEvidence").asText()).contains("RARP");
            assertThat(r.get("features").toString()).contains("\"VERSION_1\"", "\"MRG_RXBUF\"", "\"RING_PACKED\"");
            assertThat(r.get("protocolFeatures").toString()).contains("\"MQ\"", "\"REPLY_ACK\"")
                    .doesNotContain("CROSS_ENDIAN");
            assertThat(r.get("queues").asInt()).isPositive();
            // testpmd's io forwarding sends each frame back: the exchange sees both directions.
            assertVerdict(r, "modern LE", "yes", "exchange", "came back on receiveq1");
            assertVerdict(r, "legacy LE", "yes", "exchange", "came back on receiveq1");
            assertVerdict(r, "legacy BE", "no", "features", "CROSS_ENDIAN not offered");
            assertVerdict(r, "packed", "yes", "exchange", "came back on receiveq1");
            assertThat(testpmd.isRunning()).as("testpmd survives being probed").isTrue();

            // Without --traffic the table is read from the offered bits.
            Jvdpa.Result table = Jvdpa.run("probe", "--socket-path", socket.toString()).ok();
            assertThat(table.out()).contains("device type", "net", "protocol features", "RARP")
                    .containsPattern("modern LE\\s+yes\\s+features\\s+VERSION_1 offered")
                    .containsPattern("legacy LE\\s+yes\\s+features\\s+ANY_LAYOUT offered")
                    .containsPattern("legacy BE\\s+no\\s+features\\s+CROSS_ENDIAN not offered")
                    .containsPattern("packed\\s+yes\\s+features\\s+RING_PACKED offered");
        }
    }

    @Test
    void qemuStorageDaemon() throws Exception {
        Path image = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(32 << 20);
        }
        Path socket = dir.resolve("qsd.sock");
        try (StorageDaemon qsd = StorageDaemon.export(image, socket).start()) {
            JsonNode r = JSON.readTree(Jvdpa.run("probe", "--socket-path", socket.toString(), "--traffic", "--json")
                    .ok().out());
            assertThat(r.get("deviceType").asText()).isEqualTo("blk");
            assertThat(r.get("features").toString()).contains("\"VERSION_1\"", "\"FLUSH\"", "\"SEG_MAX\"")
                    .doesNotContain("RING_PACKED");
            assertThat(r.get("protocolFeatures").toString()).contains("\"CONFIG\"").doesNotContain("CROSS_ENDIAN");
            assertThat(r.get("config").get("capacity_bytes").asLong()).isEqualTo(32 << 20);
            assertThat(r.get("queues").asInt()).isEqualTo(1);
            assertVerdict(r, "modern LE", "yes", "exchange", "GET_ID answered OK");
            // libvhost-user refuses a driver without VERSION_1 and drops the connection.
            assertVerdict(r, "legacy LE", "no", "exchange", "a legacy driver (no VERSION_1)");
            assertVerdict(r, "legacy BE", "no", "features", "CROSS_ENDIAN not offered");
            assertVerdict(r, "packed", "no", "features", "RING_PACKED not offered");
            assertThat(qsd.isRunning()).isTrue();
        }
    }

    @Test
    void badFlagsAreUsageErrorsAndAMissingBackEndARuntimeFailure() throws Exception {
        Jvdpa.Result none = Jvdpa.run("probe");
        assertThat(none.status()).isEqualTo(2);
        assertThat(none.err()).contains("Missing required option: '--socket-path=PATH'").contains("Usage: jvdpa probe");

        Jvdpa.Result type = Jvdpa.run("probe", "--socket-path", dir.resolve("x.sock").toString(), "--type", "scsi");
        assertThat(type.status()).isEqualTo(2);
        assertThat(type.err()).contains("--type takes net or blk, not 'scsi'");

        Jvdpa.Result unknown = Jvdpa.run("probe", "--socket-path", dir.resolve("x.sock").toString(), "--trafic");
        assertThat(unknown.status()).isEqualTo(2);
        assertThat(unknown.err()).contains("Unknown option: '--trafic'");

        Jvdpa.Result timeout = Jvdpa.run("probe", "--socket-path", "x", "--timeout", "soon");
        assertThat(timeout.status()).isEqualTo(2);
        assertThat(timeout.err()).contains("--timeout");

        Jvdpa.Result missing = Jvdpa.run("probe", "--socket-path", dir.resolve("nobody.sock").toString(), "--timeout", "1");
        assertThat(missing.status()).isEqualTo(1);
        assertThat(missing.err()).contains("probing " + dir.resolve("nobody.sock") + " failed");
        Jvdpa.Result missingJson = Jvdpa.run("probe", "--socket-path", dir.resolve("nobody.sock").toString(),
                "--timeout", "1", "--json");
        assertThat(missingJson.status()).isEqualTo(1);
        assertThat(JSON.readTree(missingJson.out()).get("error").asText()).contains("nobody.sock");
    }
}

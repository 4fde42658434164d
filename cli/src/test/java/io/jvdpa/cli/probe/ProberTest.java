package io.jvdpa.cli.probe;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.cli.control.Json;
import io.jvdpa.cli.daemon.DeviceTypes;
import io.jvdpa.cli.daemon.HostedDevice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The probe against jvdpa's own devices in this JVM, and its reading of other back-ends' offers. */
class ProberTest {
    private Path dir;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("jvdpa-probe");
    }

    @AfterEach
    void tearDown() throws Exception {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static Map<String, Verdict> byDriver(ProbeReport r) {
        return r.verdicts().stream().collect(Collectors.toMap(Verdict::driver, v -> v));
    }

    @Test
    void jvdpasNetDeviceServesEveryDriverKind() throws Exception {
        Path socket = dir.resolve("net.sock");
        try (HostedDevice net = DeviceTypes.standard().get("net").orElseThrow()
                .start("net0", List.of("--socket-path", socket.toString(), "--queue-pairs", "2"))) {
            ProbeReport r = new Prober(socket, null, Duration.ofSeconds(5)).probe(true);
            assertThat(r.deviceType()).isEqualTo("net");
            assertThat(r.features()).contains("MAC", "MRG_RXBUF", "MQ", "VERSION_1", "RING_PACKED", "ANY_LAYOUT");
            assertThat(r.protocolFeatures()).contains("CROSS_ENDIAN", "RARP", "NET_MTU", "CONFIG");
            assertThat(r.queues()).isEqualTo(5);
            assertThat(r.config()).containsEntry("mac", "52:54:00:12:34:56").containsEntry("mtu", 1500)
                    .containsEntry("max_virtqueue_pairs", 2).containsEntry("link", "up");
            assertThat(r.verdicts()).extracting(Verdict::driver).containsExactly("modern LE", "legacy LE", "legacy BE", "packed");
            // The gateway answers the ARP request: both directions of each kind went through the rings.
            assertThat(r.verdicts()).allSatisfy(v -> {
                assertThat(v.supported()).as(v.toString()).isEqualTo(Verdict.YES);
                assertThat(v.proof()).isEqualTo("exchange");
                assertThat(v.reason()).contains("came back on receiveq1");
            });
            String table = ProbeCommand.render(r);
            assertThat(table).containsPattern("legacy BE\\s+yes\\s+exchange").contains("mac=52:54:00:12:34:56");
        }
    }

    @Test
    void aProfileWithoutLegacyIsSeenInTheOfferAndInTheExchange() throws Exception {
        Path socket = dir.resolve("net.sock");
        try (HostedDevice net = DeviceTypes.standard().get("net").orElseThrow()
                .start("net0", List.of("--socket-path", socket.toString(), "--legacy", "le-only", "--packed", "off"))) {
            Map<String, Verdict> offered = byDriver(new Prober(socket, null, Duration.ofSeconds(5)).probe(false));
            // CROSS_ENDIAN is offered so that a big-endian driver is refused with the profile's reason.
            assertThat(offered.get("legacy BE").supported()).isEqualTo(Verdict.UNKNOWN);
            assertThat(offered.get("packed").reason()).isEqualTo("RING_PACKED not offered");
            assertThat(offered.get("legacy LE").proof()).isEqualTo("features");
            Map<String, Verdict> proven = byDriver(new Prober(socket, null, Duration.ofSeconds(5)).probe(true));
            assertThat(proven.get("legacy LE").supported()).isEqualTo(Verdict.YES);
            assertThat(proven.get("legacy LE").proof()).isEqualTo("exchange");
            assertThat(proven.get("legacy BE").supported()).isEqualTo(Verdict.NO);
            assertThat(proven.get("legacy BE").reason()).contains("refused while setting up rings", "SET_VRING_ENDIAN");
            assertThat(proven.get("modern LE").supported()).isEqualTo(Verdict.YES);
            assertThat(net.runner().backend().snapshot().lastRefusal())
                    .contains("legacy big-endian driver refused: profile --legacy le-only");
        }
    }

    /** A "no" the offer decides is not tried: no connection acks bits not offered or drives unannounced rings. */
    @Test
    void aNoTheOfferDecidesIsNotTriedWithAnExchange() throws Exception {
        Path socket = dir.resolve("net.sock");
        try (HostedDevice net = DeviceTypes.standard().get("net").orElseThrow()
                .start("net0", List.of("--socket-path", socket.toString(), "--legacy", "off", "--packed", "off"))) {
            ProbeReport r = new Prober(socket, null, Duration.ofSeconds(5)).probe(true);
            Map<String, Verdict> proven = byDriver(r);
            assertThat(proven.get("legacy BE")).extracting(Verdict::supported, Verdict::proof)
                    .containsExactly(Verdict.NO, "features");
            assertThat(proven.get("legacy BE").reason()).startsWith("CROSS_ENDIAN not offered")
                    .contains("no exchange tried: big-endian rings the back-end was never told about");
            assertThat(proven.get("packed").proof()).isEqualTo("features");
            assertThat(proven.get("packed").reason()).isEqualTo("RING_PACKED not offered; no exchange tried: acking "
                    + "bits the back-end did not offer is what a hostile front-end does");
            assertThat(ProbeCommand.render(r)).containsPattern("packed\\s+no\\s+features\\s+RING_PACKED not offered; "
                    + "no exchange tried");
            assertThat(Json.PRETTY.writeValueAsString(r)).contains("RING_PACKED not offered; no exchange tried");
            // The asking connection, then modern LE and legacy LE tried; nothing for legacy BE or packed.
            assertThat(net.runner().endpoint().connections()).isEqualTo(3);
        }
    }

    @Test
    void jvdpasDiskServesEveryDriverKind() throws Exception {
        Path socket = dir.resolve("blk.sock");
        try (HostedDevice blk = DeviceTypes.standard().get("blk").orElseThrow().start("disk0", List.of(
                "--socket-path", socket.toString(), "--image", dir.resolve("disk.img").toString(), "--size", "4M",
                "--serial", "probe-serial"))) {
            ProbeReport r = new Prober(socket, null, Duration.ofSeconds(5)).probe(true);
            assertThat(r.deviceType()).isEqualTo("blk");
            assertThat(r.features()).contains("FLUSH", "BLK_SIZE", "VERSION_1");
            assertThat(r.config()).containsEntry("capacity_bytes", 4L << 20);
            assertThat(r.verdicts()).allSatisfy(v -> {
                assertThat(v.supported()).as(v.toString()).isEqualTo(Verdict.YES);
                assertThat(v.reason()).isEqualTo("GET_ID answered OK (serial 'probe-serial')");
            });
        }
    }

    @Test
    void tellsTheDeviceTypeFromOtherBackEndsOffers() {
        // What DPDK 22.11's vhost PMD and qemu-storage-daemon 7.2 offer.
        assertThat(DeviceTypeGuess.of(0xd7c66e7cbL, 0x10cbfL).type()).isEqualTo("net");
        assertThat(DeviceTypeGuess.of(0x175007e46L, 0x8f2bL).type()).isEqualTo("blk");
        assertThat(DeviceTypeGuess.of(1L << 32, 0).type()).isEqualTo("unknown");
        assertThat(DeviceTypeGuess.of(1L << 32 | 1L << 22, 0).evidence()).contains("22");
    }

    @Test
    void readsVerdictsFromTheOffer() {
        long v1 = 1L << 32;
        assertThat(Prober.fromFeatures(DriverKind.MODERN_LE, 0, 0).supported()).isEqualTo(Verdict.NO);
        assertThat(Prober.notTried(DriverKind.MODERN_LE, Prober.fromFeatures(DriverKind.MODERN_LE, 0, 0)).reason())
                .isEqualTo("VERSION_1 not offered; no exchange tried: acking bits the back-end did not offer is what "
                        + "a hostile front-end does");
        assertThat(Prober.fromFeatures(DriverKind.LEGACY_LE, 0, 0).reason()).contains("legacy-only device");
        assertThat(Prober.fromFeatures(DriverKind.LEGACY_LE, v1, 0).supported()).isEqualTo(Verdict.UNKNOWN);
        assertThat(Prober.fromFeatures(DriverKind.LEGACY_LE, v1 | 1L << 27, 0).supported()).isEqualTo(Verdict.YES);
        assertThat(Prober.fromFeatures(DriverKind.LEGACY_BE, v1 | 1L << 27, 0).supported()).isEqualTo(Verdict.NO);
        assertThat(Prober.fromFeatures(DriverKind.LEGACY_BE, v1 | 1L << 27, 1L << 6).supported()).isEqualTo(Verdict.UNKNOWN);
        assertThat(Prober.fromFeatures(DriverKind.LEGACY_BE, v1, 1L << 6).supported()).isEqualTo(Verdict.UNKNOWN);
        assertThat(Prober.fromFeatures(DriverKind.PACKED, 1L << 34, 0).reason()).isEqualTo("VERSION_1 not offered");
        assertThat(Prober.fromFeatures(DriverKind.PACKED, v1 | 1L << 34, 0).supported()).isEqualTo(Verdict.YES);
    }
}

package io.jvdpa.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Parsing of dpdk-testpmd 22.11 output as it prints it (samples captured from a real run). */
class StatsParsingTest {
    private static final String PERIODIC = """
            \u001b[2J\u001b[1;1H
            Port statistics ====================================
              ######################## NIC statistics for port 0  ########################
              RX-packets: 21         RX-missed: 0          RX-bytes:  2058
              RX-errors: 0
              RX-nombuf:  0        \s
              TX-packets: 20         TX-errors: 0          TX-bytes:  1960

              Throughput (since last show)
              Rx-pps:            5          Rx-bps:         3920
              Tx-pps:            4          Tx-bps:         3136
              ############################################################################
            \u001b[2J\u001b[1;1H
            Port statistics ====================================
              ######################## NIC statistics for port 0  ########################
              RX-packets: 41         RX-missed: 1          RX-bytes:  4018
              RX-errors: 2
              RX-nombuf:  3        \s
              TX-packets: 40         TX-errors: 4          TX-bytes:  3920

              Throughput (since last show)
              Rx-pps:           20          Rx-bps:        15680
              Tx-pps:           20          Tx-bps:        15680
              ############################################################################
            """;

    private static final String FINAL = """
            Telling cores to stop...
            Waiting for lcores to finish...

              ---------------------- Forward statistics for port 0  ----------------------
              RX-packets: 41             RX-dropped: 0             RX-total: 41
              TX-packets: 40             TX-dropped: 1             TX-total: 41
              ----------------------------------------------------------------------------

              +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++
              RX-packets: 41             RX-dropped: 0             RX-total: 41
              TX-packets: 40             TX-dropped: 1             TX-total: 41
              ++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++
            """;

    /** Four queues on one port: a block per stream before the port's, the empty stream left out. */
    private static final String FINAL_PER_STREAM = """
            Telling cores to stop...
            Waiting for lcores to finish...

              ------- Forward Stats for RX Port= 0/Queue= 0 -> TX Port= 0/Queue= 0 -------
              RX-packets: 0              TX-packets: 1085216        TX-dropped: 13320576     \s

              ------- Forward Stats for RX Port= 0/Queue= 1 -> TX Port= 0/Queue= 1 -------
              RX-packets: 0              TX-packets: 1080396        TX-dropped: 13325396     \s

              ------- Forward Stats for RX Port= 0/Queue= 3 -> TX Port= 0/Queue= 3 -------
              RX-packets: 12             TX-packets: 1068897        TX-dropped: 13336895     \s

              ---------------------- Forward statistics for port 0  ----------------------
              RX-packets: 12             RX-dropped: 0             RX-total: 12
              TX-packets: 3234509        TX-dropped: 39982867      TX-total: 43217376
              ----------------------------------------------------------------------------
            """;

    @Test
    void periodicBlocksAreParsedInOrder() {
        List<PortStats> all = PortStats.parseAll(PERIODIC);
        assertThat(all).containsExactly(
                new PortStats(0, 21, 0, 2058, 0, 0, 20, 0, 1960, 5, 4),
                new PortStats(0, 41, 1, 4018, 2, 3, 40, 4, 3920, 20, 20));
    }

    @Test
    void aBlockStillBeingPrintedIsNotParsed() {
        String partial = PERIODIC.substring(0, PERIODIC.lastIndexOf("TX-packets"));
        assertThat(PortStats.parseAll(partial)).hasSize(1);
    }

    @Test
    void finalForwardStatisticsArePerPortNotAccumulated() {
        assertThat(ForwardStats.parseAll(FINAL)).containsExactly(new ForwardStats(0, 41, 0, 40, 1));
    }

    @Test
    void perStreamForwardStatisticsAreParsedBesideThePorts() {
        assertThat(StreamStats.parseAll(FINAL_PER_STREAM)).containsExactly(
                new StreamStats(0, 0, 0, 0, 0, 1085216, 13320576),
                new StreamStats(0, 1, 0, 1, 0, 1080396, 13325396),
                new StreamStats(0, 3, 0, 3, 12, 1068897, 13336895));
        assertThat(ForwardStats.parseAll(FINAL_PER_STREAM)).containsExactly(new ForwardStats(0, 12, 0, 3234509, 39982867));
        assertThat(StreamStats.parseAll(FINAL)).isEmpty();
    }

    @Test
    void guestVirtioDeviceLinesAreParsed() {
        GuestVirtioDevice legacy = GuestVirtioDevice.parse(
                "virtio0 0x0001 0110001001110110000000000000110000000000000000000000000000000000 0x00000007 virtio_net");
        assertThat(legacy.deviceId()).isEqualTo(GuestVirtioDevice.NET);
        assertThat(legacy.modern()).isFalse();
        assertThat(legacy.driverOk()).isTrue();
        assertThat(legacy.hasFeature(1)).isTrue();
        GuestVirtioDevice modern = GuestVirtioDevice.parse(
                "virtio1 0x0002 0110001001110110000000000000110010100000000000000000000000000000 0x0000000f -");
        assertThat(modern.modern()).isTrue();
        assertThat(modern.hasFeature(GuestVirtioDevice.RING_PACKED)).isTrue();
        assertThat(modern.driver()).isEmpty();
    }
}

package io.jvdpa.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One "NIC statistics for port N" block that dpdk-testpmd prints every {@code --stats-period}. */
public record PortStats(int port, long rxPackets, long rxMissed, long rxBytes, long rxErrors, long rxNoMbuf,
                        long txPackets, long txErrors, long txBytes, long rxPps, long txPps) {
    private static final Pattern BLOCK = Pattern.compile(
            "NIC statistics for port (\\d+)\\s+#+\\s+"
                    + "RX-packets:\\s*(\\d+)\\s+RX-missed:\\s*(\\d+)\\s+RX-bytes:\\s*(\\d+)\\s+"
                    + "RX-errors:\\s*(\\d+)\\s+RX-nombuf:\\s*(\\d+)\\s+"
                    + "TX-packets:\\s*(\\d+)\\s+TX-errors:\\s*(\\d+)\\s+TX-bytes:\\s*(\\d+)\\s+"
                    + "Throughput \\(since last show\\)\\s+Rx-pps:\\s*(\\d+)\\s+Rx-bps:\\s*\\d+\\s+"
                    + "Tx-pps:\\s*(\\d+)");

    /** Every complete block in {@code text}, in order. */
    static List<PortStats> parseAll(String text) {
        List<PortStats> all = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            all.add(new PortStats(Integer.parseInt(m.group(1)), num(m, 2), num(m, 3), num(m, 4), num(m, 5), num(m, 6),
                    num(m, 7), num(m, 8), num(m, 9), num(m, 10), num(m, 11)));
        }
        return all;
    }

    static long num(Matcher m, int group) {
        return Long.parseLong(m.group(group));
    }
}

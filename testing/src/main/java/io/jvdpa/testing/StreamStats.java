package io.jvdpa.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One "Forward Stats for RX Port= P/Queue= Q -> TX Port= P/Queue= Q" block dpdk-testpmd prints when forwarding
 * stops: what one forwarding stream (a receive queue and the transmit queue it forwards to) moved. testpmd
 * prints these only when there are more streams than ports, and leaves out a stream that moved nothing.
 */
public record StreamStats(int rxPort, int rxQueue, int txPort, int txQueue, long rxPackets, long txPackets,
                          long txDropped) {
    private static final Pattern BLOCK = Pattern.compile(
            "Forward Stats for RX Port=\\s*(\\d+)/Queue=\\s*(\\d+) -> TX Port=\\s*(\\d+)/Queue=\\s*(\\d+)\\s+-+\\s+"
                    + "RX-packets:\\s*(\\d+)\\s+TX-packets:\\s*(\\d+)\\s+TX-dropped:\\s*(\\d+)");

    /** Every block in {@code text}, in order. */
    static List<StreamStats> parseAll(String text) {
        List<StreamStats> all = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            all.add(new StreamStats(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                    Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)), PortStats.num(m, 5), PortStats.num(m, 6),
                    PortStats.num(m, 7)));
        }
        return all;
    }
}

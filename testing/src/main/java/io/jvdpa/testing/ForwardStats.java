package io.jvdpa.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The "Forward statistics for port N" block dpdk-testpmd prints when forwarding stops. */
public record ForwardStats(int port, long rxPackets, long rxDropped, long txPackets, long txDropped) {
    private static final Pattern BLOCK = Pattern.compile(
            "Forward statistics for port (\\d+)\\s+-+\\s+"
                    + "RX-packets:\\s*(\\d+)\\s+RX-dropped:\\s*(\\d+)\\s+RX-total:\\s*\\d+\\s+"
                    + "(?:[^\\n]*\\n)*?\\s*TX-packets:\\s*(\\d+)\\s+TX-dropped:\\s*(\\d+)");

    /** Every block in {@code text}, in order. */
    static List<ForwardStats> parseAll(String text) {
        List<ForwardStats> all = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            all.add(new ForwardStats(Integer.parseInt(m.group(1)), PortStats.num(m, 2), PortStats.num(m, 3),
                    PortStats.num(m, 4), PortStats.num(m, 5)));
        }
        return all;
    }
}

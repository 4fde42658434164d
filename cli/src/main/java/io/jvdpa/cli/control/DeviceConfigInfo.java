package io.jvdpa.cli.control;

import java.util.List;

/**
 * {@code dev config show}: what was negotiated with the driver now attached.
 *
 * @param driver        unknown, modern or legacy
 * @param evidence      what the driver did that decided its kind
 * @param deviceOrder   byte order of headers and config space: little or big
 * @param ackedFeatures the acked feature bits as a hex number
 */
public record DeviceConfigInfo(String name, String type, String driver, List<String> evidence, String deviceOrder,
                               String ackedFeatures, List<String> negotiatedFeatures, List<String> offeredFeatures,
                               List<String> protocolFeatures, List<Ring> queues) {
    /** One ring: its size, whether it runs, and the byte order of its fields. */
    public record Ring(int index, int size, boolean started, boolean enabled, String order) {}
}

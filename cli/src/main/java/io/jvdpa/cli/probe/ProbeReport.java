package io.jvdpa.cli.probe;

import java.util.List;
import java.util.Map;

/**
 * What {@code jvdpa probe} learnt about a vhost-user back-end.
 *
 * @param deviceType       net, blk or unknown
 * @param typeEvidence     why that type
 * @param featureBits      the offered feature bits in hex
 * @param features         the offered bits by name
 * @param protocolFeatures the offered vhost-user protocol features by name
 * @param queues           GET_QUEUE_NUM's answer, or null when the back-end has no MQ
 * @param config           the config space decoded, empty when the back-end has no CONFIG
 */
public record ProbeReport(String socketPath, String deviceType, String typeEvidence, String featureBits,
                          List<String> features, String protocolFeatureBits, List<String> protocolFeatures,
                          Integer queues, Map<String, Object> config, List<Verdict> verdicts) {}

package io.jvdpa.cli.control;

import java.util.List;

/**
 * What a device serves, in {@code dev show}: its profile as the flags set it, and its queue count.
 *
 * @param legacy        the {@code --legacy} policy: auto, le-only or off
 * @param byteOrders    the drivers served by kind and byte order, e.g. "legacy big-endian"
 * @param packed        whether the packed ring is offered
 * @param queues        virtqueues the device has (net: two per queue pair and the control queue)
 * @param anyLayout     whether ANY_LAYOUT is offered (only to legacy drivers)
 * @param orderPlatform whether VIRTIO_F_ORDER_PLATFORM is offered (never: a software device needs no platform
 *                      barriers)
 */
public record ProfileInfo(String legacy, List<String> byteOrders, boolean packed, int queues, boolean anyLayout,
                          boolean orderPlatform) {
    public ProfileInfo {
        byteOrders = List.copyOf(byteOrders);
    }
}

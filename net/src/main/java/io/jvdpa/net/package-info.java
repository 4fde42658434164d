/**
 * The virtio network device (VIRTIO 1.2 §5.1) and the networks it attaches to.
 *
 * <p>{@link io.jvdpa.net.VirtioNetDevice} is what the device framework serves; per queue pair a
 * {@code TxPath} takes frames from the transmit queue and a {@code RxPath} puts frames into the receive queue,
 * both on the pair's worker thread; {@code ControlQueue} runs the control commands and {@link
 * io.jvdpa.net.RxFilter} keeps what they set. A {@link io.jvdpa.net.Network} is the other side: the embedded
 * {@link io.jvdpa.net.GatewayNetwork}, a host {@link io.jvdpa.net.TapNetwork}, a port on an in-process
 * {@link io.jvdpa.net.L2Switch}, or the benchmark networks (sink, source, reflect). Frames travel as
 * {@link io.jvdpa.net.Packet}s in preallocated native memory; nothing on the data path allocates.
 *
 * <p>One device serves modern and legacy drivers: the header's size and byte order and the framing of
 * buffers follow what the driver negotiated, with no code path of its own per driver kind.
 */
package io.jvdpa.net;

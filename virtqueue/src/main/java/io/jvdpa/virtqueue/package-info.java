/**
 * The virtqueue engine: split and packed rings (VIRTIO 1.2 §2.7, §2.8), device side and driver side, in little-
 * or big-endian ring order chosen per queue (a legacy driver uses its native order, VERSION_1 little-endian).
 *
 * <p>Device side: {@link io.jvdpa.virtqueue.DeviceQueue} ({@link io.jvdpa.virtqueue.SplitDeviceQueue},
 * {@link io.jvdpa.virtqueue.PackedDeviceQueue}) fills a reusable {@link io.jvdpa.virtqueue.DescriptorChain} per
 * pop; device code reads and writes it through {@link io.jvdpa.virtqueue.ChainReader} and
 * {@link io.jvdpa.virtqueue.ChainWriter} or straight through its segments. Every chain is checked completely
 * against the ring rules and the guest memory map before pop returns; a driver that breaks a rule breaks only its
 * own queue. Driver side: {@link io.jvdpa.virtqueue.DriverQueue}, with {@link io.jvdpa.virtqueue.RingLayout} to
 * place rings in one block (including the legacy 4096-aligned layout).
 *
 * <p>Shared-memory ordering, in one place: avail idx and packed descriptor flags are read with acquire; used idx,
 * avail idx and the flags that expose a burst are written with release, once per burst; a full fence separates
 * publishing from reading the other side's suppression fields, and re-enabling notifications from re-checking
 * the ring. Every shared index and flag is a single aligned 16-bit access.
 *
 * <p>Nothing here allocates in steady state; the JMH benchmark in the bench module shows 0 B/op. The chain
 * parser is fuzzed by ChainParsingFuzzTest (60 s per suite run; {@code -Djvdpa.fuzz.duration=30m} for longer).
 */
package io.jvdpa.virtqueue;

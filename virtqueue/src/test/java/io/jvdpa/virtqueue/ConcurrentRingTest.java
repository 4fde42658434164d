package io.jvdpa.virtqueue;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.memory.Endianness;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Driver and device on two threads, sleeping whenever the other side's suppression says they may and waking
 * only on the kick or interrupt the other side decided to send. A wrong barrier or a wrong suppression decision
 * shows up as data seen out of order or as a side that sleeps forever (a lost wake-up, caught by a timeout).
 */
class ConcurrentRingTest {
    static final int CHAINS = 40_000;
    /** A lost wake-up is forever; the bound only has to outlast a starved thread on a loaded machine. */
    static final long WAIT_SECONDS = 30;

    static Stream<Arguments> formats() {
        return Stream.of(true, false).flatMap(packed -> Stream.of(true, false).flatMap(eventIdx -> Stream.of(
                Arguments.of(packed, eventIdx, Endianness.LITTLE), Arguments.of(packed, eventIdx, Endianness.BIG))));
    }

    @ParameterizedTest(name = "packed={0} eventIdx={1} {2}")
    @MethodSource("formats")
    void everyBufferCrossesOnceInOrderAndNobodySleepsThroughWork(boolean packed, boolean eventIdx, Endianness order)
            throws Exception {
        int size = packed ? 61 : 64;
        VirtqueueFeatures f = new VirtqueueFeatures(size, packed, eventIdx, false, order);
        try (GuestFixture g = new GuestFixture(f, false)) {
            RingState start = packed ? RingState.packed(size - 5, true, size - 5, true) : RingState.split(0xFF00, 0xFF00);
            DriverQueue driver = g.driver(start);
            DeviceQueue device = g.device(start);
            Semaphore kicks = new Semaphore(0);
            Semaphore interrupts = new Semaphore(0);
            AtomicReference<Throwable> failure = new AtomicReference<>();

            Thread deviceThread = Thread.ofPlatform().name("device").start(() -> {
                try {
                    runDevice(device, kicks, interrupts, order);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                    interrupts.release(1000);
                }
            });
            try {
                runDriver(g, driver, kicks, interrupts, order, size, failure);
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
                kicks.release(1000);
            }
            deviceThread.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS * 2));
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertThat(deviceThread.isAlive()).isFalse();
            assertThat(device.isBroken()).as("%s", device.brokenReason()).isFalse();
            assertThat(device.counters().chains()).isEqualTo(CHAINS);
        }
    }

    private static void runDevice(DeviceQueue device, Semaphore kicks, Semaphore interrupts, Endianness order)
            throws InterruptedException {
        DescriptorChain chain = new DescriptorChain();
        long expected = 0;
        while (expected < CHAINS) {
            boolean any = false;
            while (device.pop(chain)) {
                long seq = chain.reader().readU64(order);
                if (seq != expected) {
                    throw new AssertionError("device saw buffer " + seq + ", expected " + expected);
                }
                chain.writer().writeU64(~seq, order);
                device.addUsed(chain);
                expected++;
                any = true;
            }
            if (device.isBroken()) {
                throw new AssertionError(device.brokenReason());
            }
            if (any) {
                device.publishUsed();
                if (device.needsNotification()) {
                    interrupts.release();
                }
            } else if (!device.enableNotifications()) {
                if (!kicks.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS)) {
                    throw new AssertionError("device slept through available buffers (lost kick) at " + expected);
                }
                device.disableNotifications();
            }
        }
    }

    private static void runDriver(GuestFixture g, DriverQueue driver, Semaphore kicks, Semaphore interrupts,
            Endianness order, int size, AtomicReference<Throwable> failure) throws InterruptedException {
        long base = g.dataStart;
        long[] addrs = new long[2];
        int[] lens = {8, 8};
        UsedBuffer used = new UsedBuffer();
        long sent = 0;
        long reaped = 0;
        while (reaped < CHAINS && failure.get() == null) {
            int posted = 0;
            while (sent < CHAINS && driver.freeDescriptors() >= 2) {
                long slot = base + 16 * (sent % size);
                order.putU64(g.memory.slice(slot, 8), 0, sent);
                addrs[0] = slot;
                addrs[1] = slot + 8;
                if (!driver.post(addrs, lens, 1, 1, (int) sent)) {
                    break;
                }
                sent++;
                posted++;
            }
            if (posted > 0) {
                driver.publish();
                if (driver.needsKick()) {
                    kicks.release();
                }
            }
            boolean got = false;
            while (driver.reap(used)) {
                if (used.token() != (int) reaped || used.length() != 8) {
                    throw new AssertionError("driver reaped " + used + ", expected token " + reaped);
                }
                long reply = order.u64(g.memory.slice(base + 16 * (reaped % size) + 8, 8), 0);
                if (reply != ~reaped) {
                    throw new AssertionError("reply for " + reaped + " is " + reply);
                }
                reaped++;
                got = true;
            }
            if (!got && posted == 0 && !driver.enableInterrupts()) {
                if (!interrupts.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS)) {
                    throw new AssertionError("driver slept through used buffers (lost interrupt) at " + reaped);
                }
                driver.disableInterrupts();
            }
        }
    }
}

package io.jvdpa.net;

import static io.jvdpa.net.NetTestDriver.VERSION_1;
import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.device.DeviceProfile;
import io.jvdpa.memory.Endianness;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Devices joined by an {@link L2Switch}: flooding, learning, forwarding and ageing, across worker threads. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SwitchTest {
    private static final long A = 0x02_00_00_00_00_0aL;
    private static final long B = 0x02_00_00_00_00_0bL;
    private static final long C = 0x02_00_00_00_00_0cL;

    private static DeviceFixture device(String name, L2Switch fabric, long mac) throws Exception {
        return new DeviceFixture(name, NetDeviceConfig.defaults(name).withMac(mac), new SwitchNetwork(fabric),
                DeviceProfile.DEFAULT, 1);
    }

    @Test
    void floodsLearnsAndForwardsBetweenThreeGuests() throws Exception {
        L2Switch fabric = new L2Switch("test-" + System.nanoTime(), Duration.ofMinutes(5));
        try (DeviceFixture fa = device("a", fabric, A); DeviceFixture fb = device("b", fabric, B);
             DeviceFixture fc = device("c", fabric, C);
             NetTestDriver a = NetTestDriver.start(fa.socket(), VERSION_1, Endianness.LITTLE, 1);
             NetTestDriver b = NetTestDriver.start(fb.socket(), NetTestDriver.ANY_LAYOUT, Endianness.BIG, 1);
             NetTestDriver c = NetTestDriver.start(fc.socket(), VERSION_1 | NetTestDriver.RING_PACKED,
                     Endianness.LITTLE, 1)) {
            for (NetTestDriver d : new NetTestDriver[] {a, b, c}) {
                d.postRx(0, 32, 2048, false);
            }
            // A broadcasts: B and C get it, A does not get its own frame back.
            byte[] hello = Frames.ethernet(MacAddress.BROADCAST, A, 0x88B5, Frames.payload(100, 1));
            a.send(0, hello);
            assertThat(b.receive(0).frame()).isEqualTo(hello);
            assertThat(c.receive(0).frame()).isEqualTo(hello);
            assertThat(a.poll(0, Duration.ofMillis(200))).isNull();
            assertThat(fabric.portOf(A)).isEqualTo(((SwitchNetwork) fa.device.network()).port());

            // B answers A: learned, so only A gets it.
            byte[] answer = Frames.ethernet(A, B, 0x88B5, Frames.payload(200, 2));
            b.send(0, answer);
            assertThat(a.receive(0).frame()).isEqualTo(answer);
            assertThat(c.poll(0, Duration.ofMillis(200))).as("C must not see unicast between A and B").isNull();

            // Many frames both ways keep their order.
            for (int i = 0; i < 50; i++) {
                a.send(0, Frames.ethernet(B, A, 0x88B5, Frames.payload(60, i)));
            }
            for (int i = 0; i < 50; i++) {
                assertThat(b.receive(0).frame()).isEqualTo(Frames.ethernet(B, A, 0x88B5, Frames.payload(60, i)));
                b.postRx(0, 1, 2048, false);
            }
            // Unknown unicast is flooded.
            byte[] unknown = Frames.ethernet(0x02_00_00_00_00_eeL, C, 0x88B5, Frames.payload(10, 3));
            c.send(0, unknown);
            assertThat(a.receive(0).frame()).isEqualTo(unknown);
            assertThat(b.receive(0).frame()).isEqualTo(unknown);
            // A group address (IPv4 multicast 224.0.0.251) is flooded like broadcast, to every port but the sender's.
            long flooded = fabric.flooded();
            byte[] group = Frames.ethernet(0x01_00_5e_00_00_fbL, C, 0x88B5, Frames.payload(30, 4));
            c.send(0, group);
            assertThat(a.receive(0).frame()).isEqualTo(group);
            assertThat(b.receive(0).frame()).isEqualTo(group);
            assertThat(c.poll(0, Duration.ofMillis(200))).as("C must not get its own multicast back").isNull();
            assertThat(fabric.flooded()).isEqualTo(flooded + 1);
            assertThat(fabric.forwarded()).isGreaterThanOrEqualTo(51);
        }
    }

    @Test
    void entriesAgeOutAndPortsThatLeaveAreForgotten() {
        MacTable table = new MacTable(16, TimeUnit.MILLISECONDS.toNanos(100));
        long t = 1_000_000_000L;
        table.learn(A, 1, t);
        table.learn(B, 2, t);
        assertThat(table.lookup(A, t + 1)).isEqualTo(1);
        table.learn(A, 3, t + 2);
        assertThat(table.lookup(A, t + 3)).as("a station that moved").isEqualTo(3);
        assertThat(table.lookup(A, t + TimeUnit.MILLISECONDS.toNanos(200))).as("aged out").isEqualTo(-1);
        table.forget(2);
        assertThat(table.lookup(B, t + 4)).as("its port left").isEqualTo(-1);
        // A full table of aged entries still takes new stations.
        long later = t + TimeUnit.SECONDS.toNanos(10);
        for (int i = 0; i < 40; i++) {
            table.learn(0x02_00_00_00_10_00L + i, i, later);
            assertThat(table.lookup(0x02_00_00_00_10_00L + i, later)).isEqualTo(i);
            later += TimeUnit.MILLISECONDS.toNanos(150);
        }
    }
}

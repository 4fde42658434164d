package io.jvdpa.net;

import static io.jvdpa.net.NetTestDriver.VERSION_1;
import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.device.DeviceProfile;
import io.jvdpa.memory.Endianness;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The device on busy-polling workers: no kicks are asked for, and frames still flow both ways. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PollModeTest {
    @Test
    void aGuestPingsTheGatewayWithPollingWorkers() throws Exception {
        GatewayNetwork gw = new GatewayNetwork();
        try (DeviceFixture f = new DeviceFixture("net0", NetDeviceConfig.defaults("net0"), gw, DeviceProfile.DEFAULT, 1,
                true);
             NetTestDriver d = NetTestDriver.start(f.socket(), VERSION_1 | NetTestDriver.RING_PACKED, Endianness.LITTLE, 1)) {
            d.postRx(0, 32, 2048, false);
            for (int seq = 0; seq < 50; seq++) {
                d.send(0, Frames.ping(Frames.GUEST_MAC, GatewayNetwork.DEFAULT_MAC, Frames.GUEST_IP, Frames.GATEWAY_IP,
                        seq, 100));
                assertThat(Frames.u16(d.receive(0).frame(), 40)).isEqualTo(seq);
                d.postRx(0, 1, 2048, false);
            }
            assertThat(gw.echoReplies()).isEqualTo(50);
        }
    }

    @Test
    void aSourceKeepsAPollingGuestFed() throws Exception {
        SourceNetwork source = new SourceNetwork();
        try (DeviceFixture f = new DeviceFixture("net0", NetDeviceConfig.defaults("net0"), source,
                DeviceProfile.DEFAULT, 1, true);
             NetTestDriver d = NetTestDriver.start(f.socket(), VERSION_1, Endianness.LITTLE, 1)) {
            int seq = 0;
            for (int round = 0; round < 10; round++) {
                d.postRx(0, 64, 256, false);
                for (int i = 0; i < 64; i++, seq++) {
                    // What the device wrote into one buffer: the 12-byte header, then the whole 64-byte frame.
                    byte[] used = d.receiveRaw(0);
                    assertThat(used).as("used length").hasSize(12 + 64);
                    assertThat(Frames.mac(used, 12)).isEqualTo(NetDeviceConfig.DEFAULT_MAC);
                    assertThat(Frames.mac(used, 12 + 6)).isEqualTo(SourceNetwork.SOURCE_MAC);
                    assertThat(Frames.u16(used, 12 + 12)).as("EtherType").isEqualTo(0x88B5);
                    assertThat(Frames.u32(used, 12 + 14)).as("sequence number").isEqualTo(seq);
                }
            }
            assertThat(source.generated()).isEqualTo(640);
            assertThat(f.device.counters().rxBytes()).as("frame bytes, without headers").isEqualTo(640L * 64);
        }
    }
}

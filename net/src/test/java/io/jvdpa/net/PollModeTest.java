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
            for (int round = 0; round < 10; round++) {
                d.postRx(0, 64, 256, false);
                for (int i = 0; i < 64; i++) {
                    NetTestDriver.Received r = d.receive(0);
                    assertThat(r.frame()).hasSize(SourceNetwork.FRAME_SIZE);
                    assertThat(Frames.mac(r.frame(), 0)).isEqualTo(NetDeviceConfig.DEFAULT_MAC);
                }
            }
            assertThat(source.generated()).isEqualTo(640);
        }
    }
}

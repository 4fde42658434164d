package io.jvdpa.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NetworksTest {
    @Test
    void namesAndAddressesAreParsedOrRefusedWithAReason() throws Exception {
        Ipv4Prefix ip = Ipv4Prefix.parse("10.0.2.2/24");
        assertThat(ip.address()).isEqualTo(0x0A000202);
        assertThat(ip.length()).isEqualTo(24);
        assertThat(Ipv4Prefix.parse("192.168.7.1").toString()).isEqualTo("192.168.7.1/24");
        assertThatThrownBy(() -> Ipv4Prefix.parse("10.0.2/24")).hasMessageContaining("10.0.2/24");
        assertThatThrownBy(() -> Ipv4Prefix.parse("10.0.2.256/24")).hasMessageContaining("0..255");
        assertThatThrownBy(() -> Ipv4Prefix.parse("10.0.2.2/32")).hasMessageContaining("prefix length");

        assertThat(Networks.create("sink", ip, 1)).isInstanceOf(SinkNetwork.class);
        assertThat(Networks.create("gateway", ip, 1).describe()).startsWith("gateway 10.0.2.2/24");
        assertThat(Networks.create("switch:lab", ip, 1).describe()).isEqualTo("switch:lab");
        assertThatThrownBy(() -> Networks.validate("bridge")).hasMessageContaining("unknown network 'bridge'");
        assertThatThrownBy(() -> Networks.validate("tap:")).hasMessageContaining("needs a name");
        assertThatThrownBy(() -> Networks.validate("tap:averyveryverylongname")).hasMessageContaining("15 bytes");
        assertThatThrownBy(() -> Networks.validate("sink:x")).hasMessageContaining("takes no name");

        assertThat(MacAddress.format(MacAddress.parse("52:54:00:AB:cd:0f"))).isEqualTo("52:54:00:ab:cd:0f");
        assertThatThrownBy(() -> MacAddress.parse("52:54:00:ab:cd")).hasMessageContaining("not a MAC address");
    }

    @Test
    void checksumsMatchTheRfc1071Example() {
        byte[] data = {0x00, 0x01, (byte) 0xf2, 0x03, (byte) 0xf4, (byte) 0xf5, (byte) 0xf6, (byte) 0xf7};
        java.lang.foreign.MemorySegment s = java.lang.foreign.MemorySegment.ofArray(data);
        // RFC 1071 section 3: the sum is 0xddf2, so the checksum is its complement.
        assertThat(InternetChecksum.of(s, 0, 8)).isEqualTo(~0xddf2 & 0xFFFF);
        assertThat(InternetChecksum.of(s, 0, 7)).isEqualTo(Frames.checksum(data, 0, 7, 0));
    }
}

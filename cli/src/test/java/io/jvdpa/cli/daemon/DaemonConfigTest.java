package io.jvdpa.cli.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class DaemonConfigTest {
    private static DaemonConfig parse(String yaml) throws Exception {
        return DaemonConfig.parse(yaml, "test.yaml", SinkCommand.types());
    }

    @Test
    void turnsEachDeviceIntoTheFlagsOfItsCommand() throws Exception {
        DaemonConfig c = parse("""
                control-socket: /tmp/x/control.sock
                devices:
                  - name: s0
                    type: sink
                    socket-path: /tmp/x/s0.sock
                    packed: off
                    client: true
                    unavailable: false
                    depth: 4
                    tag: [a, b]
                  - {name: s1, type: sink, socket-path: /tmp/x/s1.sock, legacy: le-only}
                """);
        assertThat(c.controlSocket()).isEqualTo(Path.of("/tmp/x/control.sock"));
        assertThat(c.devices()).hasSize(2);
        DaemonConfig.Entry s0 = c.devices().getFirst();
        assertThat(s0.name()).isEqualTo("s0");
        assertThat(s0.type()).isEqualTo("sink");
        // YAML reads "off" as false: for a flag that takes on|off it is "off" again; a switch set false is left out.
        assertThat(s0.args()).containsExactly("--socket-path=/tmp/x/s0.sock", "--packed=off", "--client", "--depth=4",
                "--tag=a", "--tag=b");
        assertThat(c.devices().get(1).args()).containsExactly("--socket-path=/tmp/x/s1.sock", "--legacy=le-only");
    }

    @Test
    void anEmptyDeviceListIsAllowed() throws Exception {
        assertThat(parse("devices: []\n").devices()).isEmpty();
        assertThat(parse("devices: []\n").controlSocket()).isNull();
    }

    @Test
    void saysWhatIsWrongAndWhere() {
        assertThatThrownBy(() -> parse("devices:\n  - name: a\n    type: sink\n   bad: [\n"))
                .hasMessageStartingWith("test.yaml:").hasMessageContaining("not valid YAML");
        assertThatThrownBy(() -> parse("")).hasMessageContaining("empty");
        assertThatThrownBy(() -> parse("device: []\n")).hasMessageContaining("unknown top-level key 'device'");
        assertThatThrownBy(() -> parse("devices: {name: a}\n")).hasMessageContaining("'devices' must be a list");
        assertThatThrownBy(() -> parse("devices:\n  - type: sink\n")).hasMessageContaining("device 1: 'name' is missing");
        assertThatThrownBy(() -> parse("devices:\n  - name: a\n")).hasMessageContaining("device 1 (a): 'type' is missing");
        assertThatThrownBy(() -> parse("devices:\n  - {name: a, type: tape}\n"))
                .hasMessageContaining("unknown device type 'tape' (one of sink)");
        assertThatThrownBy(() -> parse("devices:\n  - {name: a, type: sink, tag: {x: 1}}\n"))
                .hasMessageContaining("'tag' must be a single value or a list");
        assertThatThrownBy(() -> parse("devices:\n  - {name: a, type: sink}\n  - {name: a, type: sink}\n"))
                .hasMessageContaining("two devices are named 'a'");
    }
}

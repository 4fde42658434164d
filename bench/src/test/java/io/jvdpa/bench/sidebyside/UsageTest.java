package io.jvdpa.bench.sidebyside;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class UsageTest {

    @Test
    void aCountIsAWholeNumberOfOneOrMore() {
        assertThat(Usage.count("1", "rounds")).isEqualTo(1);
        assertThat(Usage.count("120", "seconds")).isEqualTo(120);
        for (String bad : new String[] {"0", "-1", "x", "", "1.5", "01", "9999999999"}) {
            assertThatThrownBy(() -> Usage.count(bad, "rounds")).isInstanceOf(Usage.Refused.class)
                    .hasMessage("rounds must be a whole number, 1 or more, not \"" + bad + "\"");
        }
    }

    @Test
    void aRefusedCommandLineCarriesNoStackTrace() {
        assertThat(new Usage.Refused("no").getStackTrace()).isEmpty();
    }
}

package io.jvdpa.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.sys.Fd;
import io.jvdpa.sys.MemFd;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Regions mapped from real memfds, as vhost-user hands them over. */
class GuestMemoryMapTest {
    private static long mappingsOf(Fd unused) throws Exception {
        String target = "/memfd:" + "guest-ram";
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains(target)).count();
    }

    @Test
    void regionsAreMappedAtTheirOffsetAndUnmappedWhenReplaced() throws Exception {
        try (Fd ram = MemFd.create("guest-ram", 0x20000); GuestMemoryMap map = new GuestMemoryMap()) {
            // The second region starts 0x10000 into the file: its first byte is the file's byte 0x10000.
            map.replace(List.of(
                    GuestRegion.map(0x0, 0x10000, 0x7000_0000L, 0x0, ram),
                    GuestRegion.map(0x100000, 0x10000, 0x7001_0000L, 0x10000, ram)));
            try (io.jvdpa.sys.Mapping whole = io.jvdpa.sys.Mapping.map(ram, 0, 0x20000)) {
            whole.segment().set(ValueLayout.JAVA_LONG, 0x10008, 0x1122334455667788L);
            assertThat(Endianness.LITTLE.u64(map.current().slice(0x100008, 8), 0)).isEqualTo(0x1122334455667788L);
            assertThat(mappingsOf(ram)).isEqualTo(3);

            MemorySegment before = map.current().slice(0x0, 16);
            map.replace(List.of(GuestRegion.map(0x0, 0x20000, 0x7000_0000L, 0x0, ram)));
            assertThat(mappingsOf(ram)).as("old regions unmapped").isEqualTo(2);
            assertThatThrownBy(() -> before.get(ValueLayout.JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
            assertThat(Endianness.LITTLE.u64(map.current().slice(0x10008, 8), 0)).isEqualTo(0x1122334455667788L);
            }
        }
    }

    @Test
    void aRegionResentUnchangedKeepsItsMappingAndAnyOtherChangeMapsAnew() throws Exception {
        try (Fd ram = MemFd.create("guest-ram", 0x20000); Fd other = MemFd.create("guest-ram", 0x20000);
             GuestMemoryMap map = new GuestMemoryMap()) {
            GuestRegion first = GuestRegion.map(0x0, 0x10000, 0x7000_0000L, 0x0, ram);
            map.replace(List.of(first, GuestRegion.map(0x100000, 0x10000, 0x7001_0000L, 0x10000, ram)));
            MemorySegment held = map.current().slice(0x8, 8);

            try (Fd again = ram.duplicate()) {
                assertThat(map.mappingOf(0x0, 0x10000, 0x7000_0000L, 0x0, again)).as("same file, another fd")
                        .isSameAs(first);
            }
            assertThat(map.mappingOf(0x0, 0x10000, 0x7000_0000L, 0x0, other)).as("another file").isNull();
            assertThat(map.mappingOf(0x0, 0x10000, 0x7000_0000L, 0x1000, ram)).as("another offset").isNull();
            assertThat(map.mappingOf(0x0, 0x8000, 0x7000_0000L, 0x0, ram)).as("another size").isNull();
            assertThat(map.mappingOf(0x0, 0x10000, 0x7100_0000L, 0x0, ram)).as("another address").isNull();

            // The table again with the first region kept and the second dropped: a buffer held in the first stays valid.
            map.replace(List.of(first));
            assertThat(mappingsOf(ram)).isEqualTo(1);
            held.set(ValueLayout.JAVA_LONG, 0, 42);
            assertThat(Endianness.LITTLE.u64(map.current().slice(0x8, 8), 0)).isEqualTo(42);
        }
    }

    @Test
    void singleRegionsComeAndGo() throws Exception {
        try (Fd ram = MemFd.create("guest-ram", 0x20000); GuestMemoryMap map = new GuestMemoryMap()) {
            map.add(GuestRegion.map(0x0, 0x10000, 0x1000_0000L, 0, ram));
            map.add(GuestRegion.map(0x10000, 0x10000, 0x2000_0000L, 0x10000, ram));
            assertThat(map.size()).isEqualTo(2);
            assertThatThrownBy(() -> map.add(GuestRegion.map(0x8000, 0x1000, 0x3000_0000L, 0, ram)))
                    .hasMessageContaining("overlap");
            assertThat(mappingsOf(ram)).as("refused region unmapped").isEqualTo(2);
            assertThat(map.remove(0x0, 0x10000, 0x1000_0000L)).isTrue();
            assertThat(map.remove(0x0, 0x10000, 0x1000_0000L)).isFalse();
            assertThat(map.current().regionAt(0x100)).isNull();
            assertThat(mappingsOf(ram)).isEqualTo(1);
        }
    }

    @Test
    void aRegionPastTheEndOfItsFileIsRefusedBeforeMapping() throws Exception {
        try (Fd ram = MemFd.create("guest-ram", 0x10000)) {
            assertThatThrownBy(() -> GuestRegion.map(0, 0x10000, 0, 0x1000, ram)).hasMessageContaining("past the end");
            assertThatThrownBy(() -> GuestRegion.map(0, 0, 0, 0, ram)).isInstanceOf(GuestMemoryException.class);
            assertThat(mappingsOf(ram)).isZero();
        }
    }
}

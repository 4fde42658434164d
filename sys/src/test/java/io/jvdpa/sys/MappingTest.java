package io.jvdpa.sys;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MappingTest {
    private static final long PAGE = 4096;

    @Test
    void memfdWrittenThroughOneMappingIsReadThroughAnother() throws Exception {
        try (Fd fd = MemFd.create("mapping-share", 4 * PAGE);
             Mapping whole = Mapping.map(fd, 0, 4 * PAGE);
             Mapping tail = Mapping.map(fd, 2 * PAGE, 2 * PAGE, true)) {
            assertThat(whole.segment().byteSize()).isEqualTo(4 * PAGE);
            assertThat(tail.segment().byteSize()).isEqualTo(2 * PAGE);
            whole.segment().set(ValueLayout.JAVA_LONG, 2 * PAGE + 8, 0x1122334455667788L);
            whole.segment().set(ValueLayout.JAVA_BYTE, 4 * PAGE - 1, (byte) 0x5a);
            assertThat(tail.segment().get(ValueLayout.JAVA_LONG, 8)).isEqualTo(0x1122334455667788L);
            assertThat(tail.segment().get(ValueLayout.JAVA_BYTE, 2 * PAGE - 1)).isEqualTo((byte) 0x5a);
            assertThat(tail.offset()).isEqualTo(2 * PAGE);
            assertThat(tail.readOnly()).isTrue();
            assertThat(tail.segment().isReadOnly()).isTrue();
            assertThatThrownBy(() -> tail.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("read-only");
        }
    }

    @Test
    void accessAfterCloseThrowsAndLeavesNoMapping() throws Exception {
        try (Fd fd = MemFd.create("mapping-closed", PAGE)) {
            Mapping mapping = Mapping.map(fd, 0, PAGE);
            MemorySegment segment = mapping.segment();
            long address = segment.address();
            assertThat(ProcSelf.mapped(address)).isTrue();
            mapping.close();
            mapping.close();
            assertThat(ProcSelf.mapped(address)).isFalse();
            assertThatThrownBy(() -> segment.get(ValueLayout.JAVA_INT, 0)).isInstanceOf(IllegalStateException.class);
            assertThat(mapping.isOpen()).isFalse();
        }
    }

    @Test
    void mappingPastEndOfFileIsRefused() throws Exception {
        try (Fd fd = MemFd.create("mapping-eof", 2 * PAGE)) {
            assertThatThrownBy(() -> Mapping.map(fd, PAGE, 2 * PAGE))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("offset 4096").hasMessageContaining("length 8192")
                    .hasMessageContaining("size 8192");
            assertThatThrownBy(() -> Mapping.map(fd, 4 * PAGE, PAGE)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> Mapping.map(fd, PAGE, Long.MAX_VALUE))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> Mapping.map(fd, 0, 0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("positive");
            assertThatThrownBy(() -> Mapping.map(fd, 100, 10)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("page size");
            assertThatThrownBy(() -> Mapping.map(fd, -PAGE, 10)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Property(tries = 300)
    void aRangeIsMappedExactlyWhenItLiesInsideTheFile(@ForAll @LongRange(min = 0, max = 8) long offsetPages,
                                                      @ForAll @LongRange(min = 1, max = 8 * PAGE + 1) long length,
                                                      @ForAll @LongRange(min = 0, max = 8 * PAGE) long size)
            throws Exception {
        long offset = offsetPages * PAGE;
        boolean inside = offset + length <= size;
        try (Fd fd = MemFd.create("mapping-prop", size)) {
            if (inside) {
                try (Mapping mapping = Mapping.map(fd, offset, length)) {
                    mapping.segment().set(ValueLayout.JAVA_BYTE, length - 1, (byte) 7);
                    assertThat(mapping.segment().byteSize()).isEqualTo(length);
                }
            } else {
                assertThatThrownBy(() -> Mapping.map(fd, offset, length)).isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    @Property(tries = 100)
    void overflowingRangesAreRefused(@ForAll @LongRange(min = 1, max = Long.MAX_VALUE) long length,
                                     @ForAll @LongRange(min = 0, max = Long.MAX_VALUE / PAGE) long offsetPages)
            throws Exception {
        long offset = offsetPages * PAGE;
        try (Fd fd = MemFd.create("mapping-overflow", PAGE)) {
            if (offset + length > PAGE || offset + length < 0) {
                assertThatThrownBy(() -> Mapping.map(fd, offset, length)).isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    @Test
    void writableMappingOfReadOnlyFileFailsWithErrno(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("ro");
        try (Fd create = Fd.open(file, OpenFlags.O_RDWR | OpenFlags.O_CREAT, 0600)) {
            MemFd.truncate(create, PAGE);
        }
        try (Fd fd = Fd.open(file, OpenFlags.O_RDONLY, 0)) {
            assertThatThrownBy(() -> Mapping.map(fd, 0, PAGE))
                    .isInstanceOfSatisfying(LinuxException.class, e -> {
                        assertThat(e.call()).isEqualTo("mmap");
                        assertThat(e.errno()).isEqualTo(Errno.EACCES);
                    })
                    .hasMessageContaining("len=4096, offset=0").hasMessageContaining("(EACCES, errno 13)");
            try (Mapping mapping = Mapping.map(fd, 0, PAGE, true)) {
                assertThat(mapping.segment().get(ValueLayout.JAVA_LONG, 0)).isZero();
            }
        }
    }

    @Test
    void thousandCreateMapCloseCyclesLeakNothing() throws Exception {
        cycle(); // let lazy class and handle initialisation settle before counting
        long fds = ProcSelf.openFds();
        long maps = ProcSelf.mappingsNamed("memfd:mapping-leak");
        for (int i = 0; i < 1000; i++) cycle();
        assertThat(ProcSelf.openFds()).isEqualTo(fds);
        assertThat(maps).isZero();
        assertThat(ProcSelf.mappingsNamed("memfd:mapping-leak")).isZero();
    }

    private static void cycle() throws LinuxException {
        try (Fd fd = MemFd.create("mapping-leak", 2 * PAGE); Mapping mapping = Mapping.map(fd, PAGE, PAGE)) {
            mapping.segment().set(ValueLayout.JAVA_INT, 0, 1);
        }
    }
}

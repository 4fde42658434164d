package io.jvdpa.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class CpuAffinityTest {

    @Test
    void theAllowedSetIsTheOneTheKernelReports() throws Exception {
        BitSet allowed = CpuAffinity.ofCurrentThread();
        assertThat(allowed.cardinality()).isPositive();
        assertThat(allowed).isEqualTo(parseList(cpusAllowedList(Path.of("/proc/thread-self/status"))));
    }

    @Test
    void aPinnedThreadMayRunOnItsCpuAlone() throws Exception {
        int cpu = CpuAffinity.ofCurrentThread().previousSetBit(CpuAffinity.MAX_CPUS - 1);
        AtomicReference<Object> seen = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                CpuAffinity.pinCurrentThread(cpu);
                seen.set(new Object[] {CpuAffinity.ofCurrentThread(),
                        cpusAllowedList(Path.of("/proc/thread-self/status"))});
            } catch (Exception e) {
                seen.set(e);
            }
        });
        t.join();
        assertThat(seen.get()).isInstanceOf(Object[].class);
        Object[] got = (Object[]) seen.get();
        BitSet only = new BitSet();
        only.set(cpu);
        assertThat(got[0]).isEqualTo(only);
        assertThat(got[1]).isEqualTo(Integer.toString(cpu));
    }

    @Test
    void aCpuTheProcessMayNotUseIsRefusedByTheKernel() throws Exception {
        int absent = CpuAffinity.ofCurrentThread().length() + 8; // past every CPU this process may use
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                CpuAffinity.pinCurrentThread(absent);
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.join();
        assertThat(failure.get()).isInstanceOf(LinuxException.class).hasMessageContaining("sched_setaffinity")
                .hasMessageContaining("CPU " + absent);
        assertThatThrownBy(() -> CpuAffinity.pinCurrentThread(CpuAffinity.MAX_CPUS))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static String cpusAllowedList(Path status) throws Exception {
        return Files.readAllLines(status).stream().filter(l -> l.startsWith("Cpus_allowed_list:"))
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElseThrow();
    }

    private static BitSet parseList(String list) {
        BitSet b = new BitSet();
        for (String part : list.split(",")) {
            String[] r = part.split("-");
            b.set(Integer.parseInt(r[0]), Integer.parseInt(r[r.length - 1]) + 1);
        }
        return b;
    }
}

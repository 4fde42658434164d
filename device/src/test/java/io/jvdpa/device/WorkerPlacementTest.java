package io.jvdpa.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jvdpa.sys.CpuAffinity;
import io.jvdpa.sys.LinuxException;
import java.util.BitSet;
import org.junit.jupiter.api.Test;

/** A worker given a CPU runs there alone; one whose CPU cannot be had fails to start and leaves no thread. */
class WorkerPlacementTest {

    @Test
    void aWorkerRunsOnItsCpuAlone() throws Exception {
        BitSet allowed = CpuAffinity.ofCurrentThread();
        for (int cpu = allowed.nextSetBit(0); cpu >= 0; cpu = allowed.nextSetBit(cpu + 1)) {
            try (Worker w = new Worker("placed-" + cpu, false, cpu)) {
                BitSet only = new BitSet();
                only.set(cpu);
                assertThat(w.call(CpuAffinity::ofCurrentThread)).isEqualTo(only);
            }
        }
        assertThat(CpuAffinity.ofCurrentThread()).as("the caller stays where it was").isEqualTo(allowed);
    }

    @Test
    void aWorkerLeftToTheSchedulerKeepsTheProcessCpus() throws Exception {
        BitSet allowed = CpuAffinity.ofCurrentThread();
        try (Worker w = new Worker("unplaced", true)) {
            assertThat(w.call(CpuAffinity::ofCurrentThread)).isEqualTo(allowed);
        }
    }

    @Test
    void aCpuTheProcessMayNotUseFailsTheWorkerBeforeItRuns() throws Exception {
        int absent = CpuAffinity.ofCurrentThread().length() + 8;
        assertThatThrownBy(() -> new Worker("misplaced", false, absent)).isInstanceOf(LinuxException.class)
                .hasMessageContaining("sched_setaffinity").hasMessageContaining("CPU " + absent);
        Thread.sleep(50);
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("misplaced") && t.isAlive());
    }
}

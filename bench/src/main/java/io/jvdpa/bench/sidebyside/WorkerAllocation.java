package io.jvdpa.bench.sidebyside;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * The JFR allocation check of a side-by-side run: jvdpa runs with a flight recording, and afterwards the
 * recording says how many bytes its data-path threads (the workers) allocated per second during the measured
 * window, and where. Divided by the packet rate, that is bytes per packet, which must be zero.
 *
 * <p>The byte count comes from {@code jdk.ThreadAllocationStatistics} (the thread's exact allocation counter,
 * sampled every second); the places from {@code jdk.ObjectAllocationSample}.
 */
record WorkerAllocation(double bytesPerSecond, Map<String, Long> sites) {
    /** Worker threads are named {@code <device>-worker-<n>}. */
    private static final String WORKER = "-worker-";

    /** The JVM options that make jvdpa write the recording this class reads. */
    static String jvmOptions(Path recording) {
        return "-XX:StartFlightRecording=filename=" + recording + ",dumponexit=true,settings=profile,"
                + "jdk.ThreadAllocationStatistics#period=1s";
    }

    /** Reads the workers' allocation over the {@code window} that ends at {@code end}. */
    static WorkerAllocation read(Path recording, Instant end, Duration window) throws IOException {
        Instant start = end.minus(window);
        Map<String, List<RecordedEvent>> counters = new HashMap<>();
        Map<String, Long> sites = new TreeMap<>();
        for (RecordedEvent e : RecordingFile.readAllEvents(recording)) {
            Instant t = e.getStartTime();
            if (t.isBefore(start) || t.isAfter(end)) {
                continue;
            }
            switch (e.getEventType().getName()) {
                case "jdk.ThreadAllocationStatistics" -> {
                    String thread = e.getThread("thread") == null ? null : e.getThread("thread").getJavaName();
                    if (thread != null && thread.contains(WORKER)) {
                        counters.computeIfAbsent(thread, k -> new ArrayList<>()).add(e);
                    }
                }
                case "jdk.ObjectAllocationSample" -> {
                    String thread = e.getThread("eventThread") == null ? null
                            : e.getThread("eventThread").getJavaName();
                    if (thread != null && thread.contains(WORKER)) {
                        sites.merge(site(e.getStackTrace()) + " (" + e.getClass("objectClass").getName() + ")",
                                e.getLong("weight"), Long::sum);
                    }
                }
                default -> { }
            }
        }
        double rate = 0;
        for (List<RecordedEvent> samples : counters.values()) {
            samples.sort((a, b) -> a.getStartTime().compareTo(b.getStartTime()));
            RecordedEvent first = samples.getFirst();
            RecordedEvent last = samples.getLast();
            double seconds = Duration.between(first.getStartTime(), last.getStartTime()).toNanos() / 1e9;
            if (seconds > 0) {
                rate += (last.getLong("allocated") - first.getLong("allocated")) / seconds;
            }
        }
        if (counters.isEmpty()) {
            throw new IOException("no allocation statistics of a worker thread in " + recording);
        }
        return new WorkerAllocation(rate, sites);
    }

    private static String site(RecordedStackTrace stack) {
        if (stack == null) {
            return "?";
        }
        for (RecordedFrame f : stack.getFrames()) {
            String type = f.getMethod().getType().getName();
            if (type.startsWith("io.jvdpa.")) {
                return type + "." + f.getMethod().getName() + ":" + f.getLineNumber();
            }
        }
        return stack.getFrames().isEmpty() ? "?" : stack.getFrames().getFirst().getMethod().getName();
    }
}

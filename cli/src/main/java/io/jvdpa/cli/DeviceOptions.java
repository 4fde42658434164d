package io.jvdpa.cli;

import io.jvdpa.device.DeviceProfile;
import io.jvdpa.device.LegacyPolicy;
import io.jvdpa.device.Worker;
import io.jvdpa.sys.CpuAffinity;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Option;

/** The flags every device command shares: where to meet the front-end, threads, and the profile. */
public final class DeviceOptions {
    private static final Pattern CPU_RANGE = Pattern.compile("(\\d{1,4})(?:-(\\d{1,4}))?");

    @Option(names = "--socket-path", required = true, paramLabel = "PATH",
            description = "vhost-user socket: listened on, or connected to with --client")
    Path socketPath;

    @Option(names = "--client", description = "connect to the front-end's socket (and reconnect) instead of listening")
    boolean client;

    @Option(names = "--socket-mode", paramLabel = "MODE", defaultValue = "0600",
            description = "permissions of the socket file created in server mode (octal, default ${DEFAULT-VALUE})")
    String socketMode;

    @Option(names = "--workers", paramLabel = "N", defaultValue = "1",
            description = "data-path threads (default ${DEFAULT-VALUE})")
    int workers;

    @Option(names = "--worker-cpus", paramLabel = "LIST",
            description = "run worker i on the i-th CPU of LIST alone, e.g. 2,3 or 2-3: one CPU per worker")
    String workerCpus;

    @Option(names = "--poll", description = "busy-poll the rings instead of sleeping on kicks")
    boolean poll;

    @Option(names = "--legacy", paramLabel = "POLICY", defaultValue = "auto",
            description = "legacy (pre-1.0) drivers served: auto (any byte order), le-only, off (default ${DEFAULT-VALUE})")
    String legacy;

    @Option(names = "--packed", paramLabel = "on|off", defaultValue = "on",
            description = "offer the packed ring (default ${DEFAULT-VALUE})")
    String packed;

    @Option(names = "--any-layout", paramLabel = "on|off", defaultValue = "on",
            description = "offer ANY_LAYOUT to legacy drivers; off makes them use legacy framing (default ${DEFAULT-VALUE})")
    String anyLayout;

    public Path socketPath() {
        return socketPath;
    }

    /** Whether the device connects to the front-end's socket instead of listening. */
    public boolean client() {
        return client;
    }

    public DeviceProfile profile() {
        return new DeviceProfile(LegacyPolicy.ofFlag(legacy), onOff("--packed", packed),
                onOff("--any-layout", anyLayout));
    }

    public int socketModeBits() {
        try {
            int mode = Integer.parseInt(socketMode, 8);
            if (mode < 0 || mode > 0777) {
                throw new NumberFormatException();
            }
            return mode;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--socket-mode '" + socketMode + "' is not an octal mode like 0600");
        }
    }

    static boolean onOff(String flag, String value) {
        return switch (value) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new IllegalArgumentException(flag + " takes on or off, not '" + value + "'");
        };
    }

    /**
     * The CPU of each worker, {@link Worker#ANY_CPU} for all without --worker-cpus. Whether a CPU can be had is
     * the kernel's to say (a CPU outside this process's affinity may still be inside its cpuset): the worker asks
     * when it starts.
     */
    public int[] workerCpus() {
        int[] cpus = new int[workers];
        if (workerCpus == null) {
            Arrays.fill(cpus, Worker.ANY_CPU);
            return cpus;
        }
        List<Integer> listed = new ArrayList<>();
        for (String part : workerCpus.split(",", -1)) {
            Matcher m = CPU_RANGE.matcher(part.trim());
            if (!m.matches()) {
                throw new IllegalArgumentException("--worker-cpus '" + workerCpus + "' is not a CPU list like 2,3 or 2-3");
            }
            int first = Integer.parseInt(m.group(1));
            int last = m.group(2) == null ? first : Integer.parseInt(m.group(2));
            if (last < first || last >= CpuAffinity.MAX_CPUS) {
                throw new IllegalArgumentException("--worker-cpus: '" + part.trim() + "' is not a range of CPUs");
            }
            for (int cpu = first; cpu <= last && listed.size() <= workers; cpu++) {
                listed.add(cpu);
            }
        }
        if (listed.size() != workers) {
            throw new IllegalArgumentException("--worker-cpus '" + workerCpus + "' lists " + (listed.size() > workers
                    ? "more CPUs than" : listed.size() + " CPU(s) for") + " --workers " + workers
                    + ": give one CPU per worker");
        }
        for (int i = 0; i < workers; i++) {
            cpus[i] = listed.get(i);
        }
        return cpus;
    }

    /** Checks the values picocli cannot; throws IllegalArgumentException naming the flag. */
    public void validate() {
        if (workers < 1 || workers > 64) {
            throw new IllegalArgumentException("--workers " + workers + " is outside 1..64");
        }
        workerCpus();
        profile();
        socketModeBits();
    }
}

package io.jvdpa.testing;

import java.time.Duration;
import java.util.List;

/** Everything that decides how a {@link QemuGuest} is started; built by {@link QemuGuest.Builder}. */
record GuestSpec(GuestArch arch, String name, int memoryMiB, int cpus, List<VhostUserNet> nets,
                 List<VhostUserBlk> blks, boolean forceLegacy, List<String> kernelArgs, List<String> qemuArgs,
                 Duration bootTimeout, Duration maxLifetime, boolean failOnVhostError) {
    GuestSpec {
        nets = List.copyOf(nets);
        blks = List.copyOf(blks);
        kernelArgs = List.copyOf(kernelArgs);
        qemuArgs = List.copyOf(qemuArgs);
    }
}

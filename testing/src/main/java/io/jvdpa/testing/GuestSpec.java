package io.jvdpa.testing;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Everything that decides how a {@link QemuGuest} is started; built by {@link QemuGuest.Builder}.
 *
 * @param monitor  the QMP monitor's unix socket, or null for none
 * @param incoming where QEMU waits for a migrated guest ({@code -incoming}), or null to boot one
 */
record GuestSpec(GuestArch arch, String name, int memoryMiB, int cpus, List<VhostUserNet> nets,
                 List<VhostUserBlk> blks, boolean forceLegacy, List<String> kernelArgs, List<String> qemuArgs,
                 Duration bootTimeout, Duration maxLifetime, boolean failOnVhostError, Path monitor, String incoming) {
    GuestSpec {
        nets = List.copyOf(nets);
        blks = List.copyOf(blks);
        kernelArgs = List.copyOf(kernelArgs);
        qemuArgs = List.copyOf(qemuArgs);
    }
}

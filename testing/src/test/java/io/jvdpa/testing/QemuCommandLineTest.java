package io.jvdpa.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class QemuCommandLineTest {
    private static final Path NET = Path.of("/tmp/net.sock");
    private static final Path BLK = Path.of("/tmp/blk.sock");

    @Test
    void x86DevicesAreOnPciWithoutMsixAndGuestRamIsAShareableMemfd() {
        String cmd = commandLine(GuestArch.X86_64, false,
                List.of(VhostUserNet.of(NET, VirtioMode.MODERN_ONLY)), List.of(VhostUserBlk.of(BLK, VirtioMode.LEGACY_ONLY)));
        assertThat(cmd).startsWith("qemu-system-x86_64 ")
                .contains("-accel tcg")
                .contains("-machine pc,memory-backend=mem")
                .contains("-object memory-backend-memfd,id=mem,size=512M,share=on")
                .contains("-chardev socket,id=netchr0,path=/tmp/net.sock -netdev vhost-user,id=net0,chardev=netchr0")
                .contains("-device virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,vectors=0,disable-legacy=on")
                .contains("-device vhost-user-blk-pci,chardev=blkchr0,num-queues=1,vectors=0,disable-modern=on")
                .contains("-serial chardev:con0")
                .contains("console=ttyS0")
                .doesNotContain(QemuCommandLine.FORCE_LEGACY_ARG);
    }

    @Test
    void modesMapToPciProperties() {
        assertThat(netDevice(GuestArch.X86_64, VirtioMode.TRANSITIONAL)).endsWith(",disable-legacy=off,disable-modern=off");
        assertThat(netDevice(GuestArch.X86_64, VirtioMode.PACKED)).endsWith(",disable-legacy=on,packed=on");
        assertThat(netDevice(GuestArch.X86_64, VirtioMode.LEGACY_ONLY)).endsWith(",disable-modern=on");
    }

    @Test
    void aHotpluggedDiskHasThePropertiesOfOneGivenAtBoot() {
        assertThat(QemuCommandLine.blkDevice(GuestArch.X86_64, "blkchr1", VhostUserBlk.of(BLK, VirtioMode.PACKED)))
                .containsExactly(entry("driver", "vhost-user-blk-pci"), entry("chardev", "blkchr1"),
                        entry("num-queues", "1"), entry("vectors", "0"), entry("disable-legacy", "on"),
                        entry("packed", "on"));
    }

    @Test
    void s390xNetIsCcwWithRevisionZeroForLegacyAndBlkIsZpciWithMsix() {
        assertThat(netDevice(GuestArch.S390X, VirtioMode.LEGACY_ONLY))
                .isEqualTo("virtio-net-ccw,netdev=net0,mac=52:54:00:12:34:56,max_revision=0");
        assertThat(netDevice(GuestArch.S390X, VirtioMode.MODERN_ONLY))
                .isEqualTo("virtio-net-ccw,netdev=net0,mac=52:54:00:12:34:56");
        String cmd = commandLine(GuestArch.S390X, false, List.of(), List.of(VhostUserBlk.of(BLK, VirtioMode.MODERN_ONLY)));
        assertThat(cmd).contains("-device vhost-user-blk-pci,chardev=blkchr0,num-queues=1,disable-legacy=on")
                .doesNotContain("vectors=0")
                .contains("-machine s390-ccw-virtio,memory-backend=mem")
                .contains("-device sclpconsole,chardev=con0")
                .contains("console=ttysclp0");
    }

    @Test
    void forceLegacyReconnectQueuesAndMacReachTheCommandLine() {
        VhostUserNet net = VhostUserNet.of(Path.of("/tmp/a,b.sock"), VirtioMode.TRANSITIONAL).withQueues(2)
                .withReconnect(true).withMac("02:00:00:00:00:01");
        String cmd = commandLine(GuestArch.X86_64, true, List.of(net, VhostUserNet.of(NET, VirtioMode.MODERN_ONLY)),
                List.of());
        assertThat(cmd).contains("path=/tmp/a,,b.sock,reconnect=1")
                .contains("-netdev vhost-user,id=net0,chardev=netchr0,queues=2")
                .contains("mac=02:00:00:00:00:01")
                .contains(",mq=on")
                .contains("netdev=net1,mac=52:54:00:12:34:57")
                .contains("console=ttyS0 panic=-1 " + QemuCommandLine.FORCE_LEGACY_ARG);
    }

    @Test
    void aMonitorAndAnIncomingMigrationComeBeforeTheExtraArguments() {
        GuestSpec spec = new GuestSpec(GuestArch.X86_64, "dst", 512, 2, List.of(VhostUserNet.of(NET, VirtioMode.PACKED)),
                List.of(), false, List.of(), List.of("-extra"), Duration.ofSeconds(1), Duration.ofSeconds(1), true,
                Path.of("/tmp/q,mp.sock"), "unix:/tmp/mig.sock");
        String cmd = String.join(" ", QemuCommandLine.of(spec, images(GuestArch.X86_64)));
        assertThat(cmd).contains("-smp 2")
                .endsWith("-qmp unix:/tmp/q,,mp.sock,server=on,wait=off -incoming unix:/tmp/mig.sock -extra");
        assertThat(String.join(" ", QemuCommandLine.of(spec(GuestArch.X86_64, false, List.of(), List.of()),
                images(GuestArch.X86_64)))).doesNotContain("-qmp").doesNotContain("-incoming");
    }

    private static String netDevice(GuestArch arch, VirtioMode mode) {
        List<String> args = QemuCommandLine.of(spec(arch, false, List.of(VhostUserNet.of(NET, mode)), List.of()),
                images(arch));
        return args.stream().filter(a -> a.startsWith("virtio-net-")).findFirst().orElseThrow();
    }

    private static String commandLine(GuestArch arch, boolean forceLegacy, List<VhostUserNet> nets,
                                      List<VhostUserBlk> blks) {
        return String.join(" ", QemuCommandLine.of(spec(arch, forceLegacy, nets, blks), images(arch)));
    }

    private static GuestSpec spec(GuestArch arch, boolean forceLegacy, List<VhostUserNet> nets, List<VhostUserBlk> blks) {
        return new GuestSpec(arch, "test", 512, 1, nets, blks, forceLegacy, List.of(), List.of(), Duration.ofSeconds(1),
                Duration.ofSeconds(1), true, null, null);
    }

    private static GuestImages images(GuestArch arch) {
        return new GuestImages(arch, Path.of("/k"), Path.of("/i"));
    }
}

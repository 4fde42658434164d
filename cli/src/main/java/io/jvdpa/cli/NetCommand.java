package io.jvdpa.cli;

import io.jvdpa.net.Ipv4Prefix;
import io.jvdpa.net.MacAddress;
import io.jvdpa.net.NetDeviceConfig;
import io.jvdpa.net.Network;
import io.jvdpa.net.Networks;
import io.jvdpa.net.VirtioNetDevice;
import io.jvdpa.sys.LinuxException;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code jvdpa net}: serves one virtio-net device over vhost-user until SIGTERM, then prints its counters. */
@Command(name = "net", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Serves a virtio-net device over vhost-user to QEMU, DPDK or any vhost-user front-end, "
                + "to modern and legacy (little- and big-endian) drivers alike.",
            "Networks: gateway (default: an embedded host at --ip answering ARP, ping, IPv6 neighbour discovery "
                + "and ping6), tap:NAME (a host TAP device with offloads, created if absent), switch:NAME (devices "
                + "of one process joined by a learning switch), sink, source, reflect (for benchmarks)."})
public final class NetCommand implements DeviceCommand, Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    DeviceOptions options;

    @Option(names = "--network", paramLabel = "NETWORK", defaultValue = "gateway",
            description = "gateway, tap:NAME, switch:NAME, sink, source or reflect (default ${DEFAULT-VALUE})")
    String network;

    @Option(names = "--ip", paramLabel = "ADDR/LEN", defaultValue = "10.0.2.2/24",
            description = "the gateway's IPv4 address (default ${DEFAULT-VALUE})")
    String ip;

    @Option(names = "--mac", paramLabel = "MAC", defaultValue = "52:54:00:12:34:56",
            description = "the MAC address in the device's config space (default ${DEFAULT-VALUE})")
    String mac;

    @Option(names = "--queue-pairs", paramLabel = "N", defaultValue = "1",
            description = "receive/transmit queue pairs, 1 to 8; more than one offers multiqueue (default ${DEFAULT-VALUE})")
    int queuePairs;

    @Option(names = "--mtu", paramLabel = "N", defaultValue = "1500",
            description = "the MTU in config space, 68 to 65535 (default ${DEFAULT-VALUE})")
    int mtu;

    @Override
    public DeviceOptions deviceOptions() {
        return options;
    }

    /** The device's configuration from the flags; IllegalArgumentException names the flag that is wrong. */
    NetDeviceConfig config(String name) {
        if (queuePairs < 1 || queuePairs > VirtioNetDevice.MAX_QUEUE_PAIRS) {
            throw new IllegalArgumentException("--queue-pairs " + queuePairs + " is outside 1.."
                    + VirtioNetDevice.MAX_QUEUE_PAIRS);
        }
        if (mtu < 68 || mtu > 65535) {
            throw new IllegalArgumentException("--mtu " + mtu + " is outside 68..65535");
        }
        long address;
        try {
            address = MacAddress.parse(mac);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--mac: " + e.getMessage());
        }
        if (MacAddress.isMulticast(address)) {
            throw new IllegalArgumentException("--mac " + mac + " is a multicast address; use a unicast one");
        }
        try {
            Networks.validate(network);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--network: " + e.getMessage());
        }
        gatewayIp();
        return new NetDeviceConfig(name, address, queuePairs, mtu);
    }

    private Ipv4Prefix gatewayIp() {
        try {
            return Ipv4Prefix.parse(ip);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--ip: " + e.getMessage());
        }
    }

    @Override
    public VirtioNetDevice createDevice(String name) {
        NetDeviceConfig config = config(name);
        Network net;
        try {
            net = Networks.create(network, gatewayIp(), queuePairs);
        } catch (LinuxException e) {
            throw new StartException("cannot open network " + network + ": " + e.getMessage(), e);
        }
        try {
            return new VirtioNetDevice(config, net);
        } catch (LinuxException e) {
            net.close();
            throw new StartException("cannot create the net device: " + e.getMessage(), e);
        }
    }

    @Override
    public Integer call() {
        try {
            options.validate();
            config("net");
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        VirtioNetDevice device = createDevice("net");
        DeviceRunner runner;
        try {
            runner = new DeviceRunner("net", device, options);
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
        // Runs beside the runner's own hook; close() is idempotent, so whichever comes first stops the device and
        // the counters are final when printed.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            runner.close();
            System.out.println("jvdpa net: " + device.counters().summary() + " " + device.network().counters());
            System.out.flush();
            device.close();
        }, "jvdpa-net-summary"));
        runner.runUntilStopped();
        return 0;
    }
}

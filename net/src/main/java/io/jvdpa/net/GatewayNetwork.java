package io.jvdpa.net;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * An embedded host at one IPv4 address (and the IPv6 link-local address of its MAC), so a guest can ping out of
 * the box without privileges: it answers ARP requests (RFC 826) and ICMP echo requests (RFC 792) for its IPv4
 * address, and neighbour solicitations (RFC 4861) and ICMPv6 echo requests (RFC 4443) for its IPv6 address.
 * Everything else is dropped. Replies go back on the queue pair the request came from, with correct checksums,
 * marked DATA_VALID for a guest that accepts that.
 */
public final class GatewayNetwork implements Network {
    /** The gateway's MAC: locally administered, fixed so guests can rely on it. */
    public static final long DEFAULT_MAC = 0x52_54_00_12_35_02L;
    public static final Ipv4Prefix DEFAULT_IP = new Ipv4Prefix(0x0A_00_02_02, 24);

    static final int ETH_P_IP = 0x0800;
    static final int ETH_P_ARP = 0x0806;
    static final int ETH_P_IPV6 = 0x86DD;
    private static final int IPPROTO_ICMP = 1;
    private static final int IPPROTO_ICMPV6 = 58;
    private static final int ICMP_ECHO_REPLY = 0;
    private static final int ICMP_ECHO = 8;
    private static final int ICMPV6_ECHO = 128;
    private static final int ICMPV6_ECHO_REPLY = 129;
    private static final int ND_NEIGHBOR_SOLICIT = 135;
    private static final int ND_NEIGHBOR_ADVERT = 136;
    private static final int MIN_FRAME = 60;
    private static final int ETH = Packet.ETH_HEADER;
    private static final int IP6_HEADER = 40;
    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong BE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private static final int ARP_REPLIES = 0;
    private static final int ECHO_REPLIES = 1;
    private static final int NEIGHBOR_ADVERTS = 2;
    private static final int ECHO6_REPLIES = 3;
    private static final int IGNORED = 4;

    private final Ipv4Prefix ip;
    private final long mac;
    private final long ip6High;
    private final long ip6Low;
    private final Packet[] replies = new Packet[VirtioNetDevice.MAX_QUEUE_PAIRS];
    private final PairCounters counters = new PairCounters(5);
    private volatile GuestPort guest;

    public GatewayNetwork(Ipv4Prefix ip, long mac) {
        this.ip = ip;
        this.mac = mac;
        this.ip6High = 0xfe80_0000_0000_0000L;
        this.ip6Low = interfaceId(mac);
        for (int i = 0; i < replies.length; i++) {
            replies[i] = Packet.allocate(Packet.MAX_FRAME);
        }
    }

    public GatewayNetwork() {
        this(DEFAULT_IP, DEFAULT_MAC);
    }

    /** The modified EUI-64 interface identifier of {@code mac} (RFC 4291 appendix A). */
    static long interfaceId(long mac) {
        long high = (mac >>> 24) ^ 0x02_0000L;
        long low = mac & 0xFF_FFFFL;
        return (high << 40) | (0xFFFEL << 24) | low;
    }

    public Ipv4Prefix ip() {
        return ip;
    }

    public long mac() {
        return mac;
    }

    /** The gateway's IPv6 link-local address, as text. */
    public String ipv6LinkLocal() {
        return "fe80::%x:%x:%x:%x".formatted((ip6Low >>> 48) & 0xFFFF, (ip6Low >>> 32) & 0xFFFF,
                (ip6Low >>> 16) & 0xFFFF, ip6Low & 0xFFFF);
    }

    @Override
    public String describe() {
        return "gateway " + ip + " (" + MacAddress.format(mac) + ", " + ipv6LinkLocal() + ")";
    }

    @Override
    public void attach(GuestPort port) {
        guest = port;
    }

    @Override
    public void detach() {
        guest = null;
    }

    @Override
    public void transmit(int pair, Packet frame) {
        GuestPort g = guest;
        if (g == null) {
            return;
        }
        Packet reply = replies[pair];
        Counters c = counters.pair(pair);
        int answered = switch (frame.etherType()) {
            case ETH_P_ARP -> arp(frame, reply) ? ARP_REPLIES : IGNORED;
            case ETH_P_IP -> echo(frame, reply) ? ECHO_REPLIES : IGNORED;
            case ETH_P_IPV6 -> ipv6(frame, reply);
            default -> IGNORED;
        };
        c.increment(answered);
        if (answered != IGNORED) {
            reply.setHeader(NetHeader.F_DATA_VALID, NetHeader.GSO_NONE, 0, 0, 0, 0);
            g.rx(pair).send(reply);
        }
    }

    // ---- ARP ----------------------------------------------------------------------------------------------

    private boolean arp(Packet req, Packet reply) {
        if (req.length() < ETH + 28 || req.u16(ETH) != 1 || req.u16(ETH + 2) != ETH_P_IP || req.u8(ETH + 4) != 6
                || req.u8(ETH + 5) != 4 || req.u16(ETH + 6) != 1 || u32(req, ETH + 24) != ip.address()) {
            return false;
        }
        long senderMac = MacAddress.get(req.segment(), req.offset() + ETH + 8);
        int senderIp = u32(req, ETH + 14);
        reply.reset(0, MIN_FRAME);
        reply.segment().asSlice(0, MIN_FRAME).fill((byte) 0);
        reply.setDestination(senderMac);
        reply.setSource(mac);
        reply.putU16(12, ETH_P_ARP);
        reply.putU16(ETH, 1);
        reply.putU16(ETH + 2, ETH_P_IP);
        reply.putU8(ETH + 4, 6);
        reply.putU8(ETH + 5, 4);
        reply.putU16(ETH + 6, 2);
        MacAddress.put(reply.segment(), ETH + 8, mac);
        putU32(reply, ETH + 14, ip.address());
        MacAddress.put(reply.segment(), ETH + 18, senderMac);
        putU32(reply, ETH + 24, senderIp);
        return true;
    }

    // ---- IPv4 ICMP echo ------------------------------------------------------------------------------------

    private boolean echo(Packet req, Packet reply) {
        if (req.length() < ETH + 20 + 8) {
            return false;
        }
        int versionIhl = req.u8(ETH);
        int ihl = (versionIhl & 0xF) * 4;
        int total = req.u16(ETH + 2);
        if ((versionIhl >>> 4) != 4 || ihl < 20 || total < ihl + 8 || ETH + total > req.length()
                || (req.u16(ETH + 6) & 0x3FFF) != 0 // a fragment: not reassembled here
                || req.u8(ETH + 9) != IPPROTO_ICMP || u32(req, ETH + 16) != ip.address()
                || InternetChecksum.of(req.segment(), req.offset() + ETH, ihl) != 0) {
            return false;
        }
        int icmp = ETH + ihl;
        int icmpLength = total - ihl;
        if (req.u8(icmp) != ICMP_ECHO || req.u8(icmp + 1) != 0
                || InternetChecksum.of(req.segment(), req.offset() + icmp, icmpLength) != 0) {
            return false;
        }
        int length = ETH + total;
        MemorySegment.copy(req.segment(), req.offset(), reply.segment(), 0, length);
        reply.reset(0, Math.max(length, MIN_FRAME));
        if (length < MIN_FRAME) {
            reply.segment().asSlice(length, MIN_FRAME - length).fill((byte) 0);
        }
        reply.setDestination(req.source());
        reply.setSource(mac);
        int guestIp = u32(req, ETH + 12);
        putU32(reply, ETH + 12, ip.address());
        putU32(reply, ETH + 16, guestIp);
        reply.putU8(ETH + 8, 64);
        reply.putU16(ETH + 10, 0);
        reply.putU16(ETH + 10, InternetChecksum.of(reply.segment(), ETH, ihl));
        reply.putU8(icmp, ICMP_ECHO_REPLY);
        reply.putU16(icmp + 2, 0);
        reply.putU16(icmp + 2, InternetChecksum.of(reply.segment(), icmp, icmpLength));
        return true;
    }

    // ---- IPv6: neighbour discovery and echo ----------------------------------------------------------------

    private int ipv6(Packet req, Packet reply) {
        if (req.length() < ETH + IP6_HEADER + 8 || (req.u8(ETH) >>> 4) != 6
                || req.u8(ETH + 6) != IPPROTO_ICMPV6) {
            return IGNORED;
        }
        int payload = req.u16(ETH + 4);
        if (payload < 8 || ETH + IP6_HEADER + payload > req.length()) {
            return IGNORED;
        }
        int icmp = ETH + IP6_HEADER;
        if (icmpv6Checksum(req, icmp, payload) != 0) {
            return IGNORED;
        }
        int type = req.u8(icmp);
        if (type == ND_NEIGHBOR_SOLICIT && payload >= 24 && req.u8(ETH + 7) == 255
                && isMine(req, icmp + 8)) {
            advertise(req, reply);
            return NEIGHBOR_ADVERTS;
        }
        if (type == ICMPV6_ECHO && isMine(req, ETH + 24)) {
            int length = ETH + IP6_HEADER + payload;
            MemorySegment.copy(req.segment(), req.offset(), reply.segment(), 0, length);
            reply.reset(0, Math.max(length, MIN_FRAME));
            if (length < MIN_FRAME) {
                reply.segment().asSlice(length, MIN_FRAME - length).fill((byte) 0);
            }
            reply.setDestination(req.source());
            reply.setSource(mac);
            copy16(req, ETH + 8, reply, ETH + 24);  // destination = the guest
            putIp6(reply, ETH + 8);                  // source = the gateway
            reply.putU8(ETH + 7, 64);
            reply.putU8(icmp, ICMPV6_ECHO_REPLY);
            reply.putU16(icmp + 2, 0);
            reply.putU16(icmp + 2, icmpv6Checksum(reply, icmp, payload));
            return ECHO6_REPLIES;
        }
        return IGNORED;
    }

    /** A neighbour advertisement for the gateway's address, solicited and overriding, with its MAC. */
    private void advertise(Packet req, Packet reply) {
        int icmp = ETH + IP6_HEADER;
        int payload = 32;
        boolean unspecified = req.segment().get(BE64, req.offset() + ETH + 8) == 0
                && req.segment().get(BE64, req.offset() + ETH + 16) == 0;
        reply.reset(0, ETH + IP6_HEADER + payload);
        reply.segment().asSlice(0, reply.length()).fill((byte) 0);
        reply.setSource(mac);
        reply.putU16(12, ETH_P_IPV6);
        reply.putU8(ETH, 0x60);
        reply.putU16(ETH + 4, payload);
        reply.putU8(ETH + 6, IPPROTO_ICMPV6);
        reply.putU8(ETH + 7, 255);
        putIp6(reply, ETH + 8);
        if (unspecified) {
            // A node still checking its own address: answer to all nodes (RFC 4861 7.2.4), not solicited.
            reply.setDestination(0x3333_0000_0001L);
            reply.segment().set(BE64, ETH + 24, 0xff02_0000_0000_0000L);
            reply.segment().set(BE64, ETH + 32, 1L);
        } else {
            reply.setDestination(req.source());
            copy16(req, ETH + 8, reply, ETH + 24);
        }
        reply.putU8(icmp, ND_NEIGHBOR_ADVERT);
        reply.segment().set(BE32, icmp + 4, unspecified ? 0x2000_0000 : 0x6000_0000); // S and O flags
        putIp6(reply, icmp + 8);
        reply.putU8(icmp + 24, 2); // target link-layer address option, 8 bytes
        reply.putU8(icmp + 25, 1);
        MacAddress.put(reply.segment(), icmp + 26, mac);
        reply.putU16(icmp + 2, icmpv6Checksum(reply, icmp, payload));
    }

    private boolean isMine(Packet p, int at) {
        long base = p.offset() + at;
        return p.segment().get(BE64, base) == ip6High && p.segment().get(BE64, base + 8) == ip6Low;
    }

    private void putIp6(Packet p, int at) {
        p.segment().set(BE64, p.offset() + at, ip6High);
        p.segment().set(BE64, p.offset() + at + 8, ip6Low);
    }

    private static void copy16(Packet from, int fromAt, Packet to, int toAt) {
        MemorySegment.copy(from.segment(), from.offset() + fromAt, to.segment(), to.offset() + toAt, 16);
    }

    /** ICMPv6 checksum with the IPv6 pseudo-header (RFC 8200 8.1); 0 when a received checksum is right. */
    private static int icmpv6Checksum(Packet p, int icmp, int length) {
        long sum = InternetChecksum.add(p.segment(), p.offset() + ETH + 8, 32, 0);
        sum += length;
        sum += IPPROTO_ICMPV6;
        sum = InternetChecksum.add(p.segment(), p.offset() + icmp, length, sum);
        return InternetChecksum.finish(sum);
    }

    private static int u32(Packet p, int at) {
        return p.segment().get(BE32, p.offset() + at);
    }

    private static void putU32(Packet p, int at, int value) {
        p.segment().set(BE32, p.offset() + at, value);
    }

    public long arpReplies() {
        return counters.sum(ARP_REPLIES);
    }

    public long echoReplies() {
        return counters.sum(ECHO_REPLIES);
    }

    public long neighborAdverts() {
        return counters.sum(NEIGHBOR_ADVERTS);
    }

    public long echo6Replies() {
        return counters.sum(ECHO6_REPLIES);
    }

    @Override
    public String counters() {
        return "arp-replies=%d echo-replies=%d neighbor-adverts=%d echo6-replies=%d ignored=%d".formatted(
                arpReplies(), echoReplies(), neighborAdverts(), echo6Replies(), counters.sum(IGNORED));
    }
}

package io.jvdpa.net;

import java.nio.ByteBuffer;

/** Frames built byte by byte for tests, independently of the code under test (checksums included). */
final class Frames {
    static final long GUEST_MAC = 0x52_54_00_00_00_01L;
    static final int GUEST_IP = 0x0A_00_02_0F; // 10.0.2.15
    static final int GATEWAY_IP = 0x0A_00_02_02;

    private Frames() {}

    static byte[] ethernet(long dst, long src, int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(14 + payload.length);
        b.put(MacAddress.toBytes(dst)).put(MacAddress.toBytes(src)).putShort((short) type).put(payload);
        return b.array();
    }

    static byte[] payload(int length, int seed) {
        byte[] p = new byte[length];
        for (int i = 0; i < length; i++) {
            p[i] = (byte) (i * 31 + seed);
        }
        return p;
    }

    static int checksum(byte[] data, int offset, int length, long initial) {
        long sum = initial;
        for (int i = 0; i + 1 < length; i += 2) {
            sum += ((data[offset + i] & 0xFF) << 8) | (data[offset + i + 1] & 0xFF);
        }
        if ((length & 1) != 0) {
            sum += (data[offset + length - 1] & 0xFF) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    static byte[] arpRequest(long senderMac, int senderIp, int targetIp) {
        ByteBuffer a = ByteBuffer.allocate(28);
        a.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 1)
                .put(MacAddress.toBytes(senderMac)).putInt(senderIp).put(new byte[6]).putInt(targetIp);
        return ethernet(MacAddress.BROADCAST, senderMac, 0x0806, a.array());
    }

    static byte[] ipv4(int protocol, int src, int dst, byte[] l4, int flagsFragment) {
        ByteBuffer ip = ByteBuffer.allocate(20 + l4.length);
        ip.put((byte) 0x45).put((byte) 0).putShort((short) (20 + l4.length)).putShort((short) 0x1234)
                .putShort((short) flagsFragment).put((byte) 64).put((byte) protocol).putShort((short) 0)
                .putInt(src).putInt(dst).put(l4);
        byte[] b = ip.array();
        int c = checksum(b, 0, 20, 0);
        b[10] = (byte) (c >>> 8);
        b[11] = (byte) c;
        return b;
    }

    static byte[] icmpEcho(int type, int id, int seq, byte[] data) {
        ByteBuffer m = ByteBuffer.allocate(8 + data.length);
        m.put((byte) type).put((byte) 0).putShort((short) 0).putShort((short) id).putShort((short) seq).put(data);
        byte[] b = m.array();
        int c = checksum(b, 0, b.length, 0);
        b[2] = (byte) (c >>> 8);
        b[3] = (byte) c;
        return b;
    }

    static byte[] ping(long srcMac, long dstMac, int srcIp, int dstIp, int seq, int dataLength) {
        return ethernet(dstMac, srcMac, 0x0800,
                ipv4(1, srcIp, dstIp, icmpEcho(8, 0x4242, seq, payload(dataLength, seq)), 0x4000));
    }

    /** A UDP datagram with its checksum left partial (pseudo-header sum only), as a driver with CSUM sends it. */
    static byte[] udpPartial(long srcMac, long dstMac, int srcIp, int dstIp, byte[] data) {
        int udpLength = 8 + data.length;
        ByteBuffer u = ByteBuffer.allocate(udpLength);
        u.putShort((short) 5000).putShort((short) 6000).putShort((short) udpLength).putShort((short) 0).put(data);
        byte[] udp = u.array();
        long pseudo = (srcIp >>> 16) + (srcIp & 0xFFFF) + (dstIp >>> 16) + (dstIp & 0xFFFF) + 17 + udpLength;
        while ((pseudo >>> 16) != 0) {
            pseudo = (pseudo & 0xFFFF) + (pseudo >>> 16);
        }
        udp[6] = (byte) (pseudo >>> 8);
        udp[7] = (byte) pseudo;
        return ethernet(dstMac, srcMac, 0x0800, ipv4(17, srcIp, dstIp, udp, 0x4000));
    }

    /** Verifies a UDP/IPv4 frame's UDP checksum; true if it is right. */
    static boolean udpChecksumValid(byte[] frame) {
        int ihl = (frame[14] & 0xF) * 4;
        int udp = 14 + ihl;
        int length = ((frame[udp + 4] & 0xFF) << 8) | (frame[udp + 5] & 0xFF);
        long pseudo = 0;
        for (int i = 26; i < 34; i += 2) {
            pseudo += ((frame[i] & 0xFF) << 8) | (frame[i + 1] & 0xFF);
        }
        pseudo += 17 + length;
        return checksum(frame, udp, length, pseudo) == 0;
    }

    static int u16(byte[] b, int at) {
        return ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
    }

    static int u32(byte[] b, int at) {
        return ByteBuffer.wrap(b, at, 4).getInt();
    }

    static long mac(byte[] b, int at) {
        return MacAddress.of(b, at);
    }

    /** An IPv6 ICMPv6 packet in an Ethernet frame, checksum computed over the pseudo-header. */
    static byte[] icmpv6(long srcMac, long dstMac, byte[] srcIp, byte[] dstIp, int hopLimit, byte[] icmp) {
        ByteBuffer ip = ByteBuffer.allocate(40 + icmp.length);
        ip.putInt(0x6000_0000).putShort((short) icmp.length).put((byte) 58).put((byte) hopLimit).put(srcIp)
                .put(dstIp).put(icmp);
        byte[] b = ip.array();
        int c = icmpv6Checksum(b);
        b[42] = (byte) (c >>> 8);
        b[43] = (byte) c;
        return ethernet(dstMac, srcMac, 0x86DD, b);
    }

    /** The ICMPv6 checksum of an IPv6 packet (from its version byte); 0 if the stored one is right. */
    static int icmpv6Checksum(byte[] ip6) {
        int length = ((ip6[4] & 0xFF) << 8) | (ip6[5] & 0xFF);
        long sum = 0;
        for (int i = 8; i < 40; i += 2) {
            sum += ((ip6[i] & 0xFF) << 8) | (ip6[i + 1] & 0xFF);
        }
        sum += length + 58;
        return checksum(ip6, 40, length, sum);
    }

    static byte[] linkLocal(long mac) {
        long id = GatewayNetwork.interfaceId(mac);
        return ByteBuffer.allocate(16).putLong(0xfe80_0000_0000_0000L).putLong(id).array();
    }

    static byte[] neighborSolicitation(long srcMac, byte[] srcIp, byte[] target) {
        byte[] solicited = ByteBuffer.allocate(16).putLong(0xff02_0000_0000_0000L)
                .putLong(0x0000_0001_ff00_0000L | ((target[13] & 0xFFL) << 16) | ((target[14] & 0xFFL) << 8)
                        | (target[15] & 0xFFL)).array();
        long dstMac = 0x3333_ff00_0000L | ((target[13] & 0xFFL) << 16) | ((target[14] & 0xFFL) << 8)
                | (target[15] & 0xFFL);
        ByteBuffer ns = ByteBuffer.allocate(32);
        ns.put((byte) 135).put((byte) 0).putShort((short) 0).putInt(0).put(target).put((byte) 1).put((byte) 1)
                .put(MacAddress.toBytes(srcMac));
        return icmpv6(srcMac, dstMac, srcIp, solicited, 255, ns.array());
    }
}

package io.jvdpa.sys;

/** Who is at the other end of a Unix socket (SO_PEERCRED): as the peer was when it connected. */
public record PeerCredentials(int pid, int uid, int gid) {}

package io.jvdpa.vhostuser;

/** GET/SET_INFLIGHT_FD's payload: the shared area that tracks requests in flight across a reconnect. */
public record InflightSpec(long mmapSize, long mmapOffset, int numQueues, int queueSize) {}

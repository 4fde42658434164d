package io.jvdpa.vhostuser;

/** One region of SET_MEM_TABLE or ADD_MEM_REG / REM_MEM_REG, as the front-end describes it. */
public record MemoryRegionSpec(long guestPhysAddr, long size, long userAddr, long mmapOffset) {}

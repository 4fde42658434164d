package io.jvdpa.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The vhost dirty log: one bit per 4 KiB guest page, bit {@code page % 8} of byte {@code page / 8}, set
 * atomically because the front-end reads and clears it concurrently. Bytes are updated with a CAS on the
 * byte's aligned 32-bit word, so any log offset works.
 */
public final class DirtyBitmap implements DirtyLog {
    public static final int PAGE_SHIFT = 12;
    private static final VarHandle WORD = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private final MemorySegment log;
    private final long alignShift;

    /** {@code log} starts at the byte for guest page 0. */
    public DirtyBitmap(MemorySegment log) {
        this.log = log;
        this.alignShift = log.address() & 3;
    }

    @Override
    public boolean enabled() {
        return true;
    }

    @Override
    public void mark(long guestPhysAddr, long length) {
        if (length <= 0) {
            return;
        }
        long first = guestPhysAddr >>> PAGE_SHIFT;
        long last = (guestPhysAddr + length - 1) >>> PAGE_SHIFT;
        for (long page = first; page <= last; page++) {
            markPage(page);
        }
    }

    private void markPage(long page) {
        long byteIndex = page >>> 3;
        if (byteIndex >= log.byteSize()) {
            return; // outside the log the front-end sized: nothing it tracks
        }
        // The aligned 32-bit word holding this byte, relative to the segment start.
        long abs = byteIndex + alignShift;
        long wordOffset = (abs & ~3L) - alignShift;
        int shift = (int) ((abs & 3) * 8) + (int) (page & 7);
        int bit = 1 << shift;
        if (wordOffset < 0 || wordOffset + 4 > log.byteSize()) {
            byte old = log.get(ValueLayout.JAVA_BYTE, byteIndex);
            log.set(ValueLayout.JAVA_BYTE, byteIndex, (byte) (old | (1 << (page & 7))));
            return;
        }
        WORD.getAndBitwiseOr(log, wordOffset, bit);
    }
}

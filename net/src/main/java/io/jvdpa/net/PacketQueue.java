package io.jvdpa.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A bounded queue of frames from any number of threads to one consumer, without locks and without allocating:
 * frames are copied into slots of one preallocated native slab. The consumer looks at the oldest frame in
 * place ({@link #peek}) and removes it only once it is delivered, so a frame waits here while the guest has no
 * receive buffers.
 *
 * <p>Each slot has a sequence number (the bounded MPMC scheme of D. Vyukov): a producer claims a position with
 * one CAS on the tail, fills the slot, and publishes it with a release store of the sequence; the consumer reads
 * the sequence with acquire before it touches the slot.
 */
final class PacketQueue {
    private static final int HEADER_FIELDS = 7;

    private final int capacity;
    private final int mask;
    private final int slotSize;
    private final MemorySegment slab;
    private final int[] meta;
    private final AtomicLongArray sequence;
    private final AtomicLong tail = new AtomicLong();
    private long head;

    /**
     * @param capacity slots, a power of two
     * @param slotSize the longest frame a slot holds
     */
    PacketQueue(int capacity, int slotSize) {
        if (capacity < 2 || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("queue capacity must be a power of two, was " + capacity);
        }
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.slotSize = (slotSize + 63) & ~63;
        this.slab = Arena.ofAuto().allocate((long) this.slotSize * capacity, 64);
        this.meta = new int[capacity * HEADER_FIELDS];
        this.sequence = new AtomicLongArray(capacity);
        for (int i = 0; i < capacity; i++) {
            sequence.set(i, i);
        }
    }

    int slotSize() {
        return slotSize;
    }

    int capacity() {
        return capacity;
    }

    /** Copies {@code p} into the queue (any thread). False if the queue is full or the frame longer than a slot. */
    boolean offer(Packet p) {
        if (p.length() > slotSize) {
            return false;
        }
        long pos = tail.get();
        int slot;
        while (true) {
            slot = (int) (pos & mask);
            long seq = sequence.getAcquire(slot);
            long diff = seq - pos;
            if (diff == 0) {
                if (tail.compareAndSet(pos, pos + 1)) {
                    break;
                }
                pos = tail.get();
            } else if (diff < 0) {
                return false;
            } else {
                pos = tail.get();
            }
        }
        MemorySegment.copy(p.segment(), p.offset(), slab, (long) slot * slotSize, p.length());
        int m = slot * HEADER_FIELDS;
        meta[m] = p.length();
        meta[m + 1] = p.flags();
        meta[m + 2] = p.gsoType();
        meta[m + 3] = p.hdrLen();
        meta[m + 4] = p.gsoSize();
        meta[m + 5] = p.csumStart();
        meta[m + 6] = p.csumOffset();
        sequence.setRelease(slot, pos + 1);
        return true;
    }

    /** Consumer only: points {@code view} at the oldest frame without removing it; false if there is none. */
    boolean peek(Packet view) {
        int slot = (int) (head & mask);
        if (sequence.getAcquire(slot) != head + 1) {
            return false;
        }
        int m = slot * HEADER_FIELDS;
        view.view(slab, (long) slot * slotSize, meta[m]);
        view.setHeader(meta[m + 1], meta[m + 2], meta[m + 3], meta[m + 4], meta[m + 5], meta[m + 6]);
        return true;
    }

    /** Consumer only: drops the frame {@link #peek} showed, freeing its slot for producers. */
    void remove() {
        int slot = (int) (head & mask);
        sequence.setRelease(slot, head + capacity);
        head++;
    }

    /** Consumer only. */
    boolean isEmpty() {
        return sequence.getAcquire((int) (head & mask)) != head + 1;
    }

    /** Consumer only, with producers stopped: forgets every frame. */
    void clear() {
        while (!isEmpty()) {
            remove();
        }
    }
}

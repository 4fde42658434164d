package io.jvdpa.virtqueue;

/** A buffer the device returned, as the driver side reaps it. Reused from reap to reap. */
public final class UsedBuffer {
    int id;
    int token;
    long length;

    /** The buffer id (split: head descriptor index; packed: Buffer ID). */
    public int id() {
        return id;
    }

    /** What the caller passed when it posted the buffer. */
    public int token() {
        return token;
    }

    /** Bytes the device wrote into the device-writable part. */
    public long length() {
        return length;
    }

    @Override
    public String toString() {
        return "UsedBuffer[id=%d, token=%d, length=%d]".formatted(id, token, length);
    }
}

package io.jvdpa.memory;

/**
 * Where the device records the guest pages it writes while the front-end migrates the guest
 * (VHOST_F_LOG_ALL). Addresses are guest-physical.
 */
public interface DirtyLog {
    /** A log that records nothing: the normal case, when no migration is running. */
    DirtyLog NONE = new DirtyLog() {
        @Override
        public void mark(long guestPhysAddr, long length) {}

        @Override
        public boolean enabled() {
            return false;
        }
    };

    void mark(long guestPhysAddr, long length);

    boolean enabled();
}

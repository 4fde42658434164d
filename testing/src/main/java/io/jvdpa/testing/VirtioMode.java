package io.jvdpa.testing;

/**
 * Which virtio interface a device offers the guest. The names follow the virtio spec: a transitional device
 * offers both the legacy (0.95) and the modern (1.x) interface and the driver picks one.
 */
public enum VirtioMode {
    /** Modern interface only ({@code disable-legacy=on} on PCI; a ccw device lets the driver pick revision 1+). */
    MODERN_ONLY,
    /** Legacy interface only ({@code disable-modern=on} on PCI, {@code max_revision=0} on ccw). */
    LEGACY_ONLY,
    /**
     * Both interfaces; the driver picks modern unless the guest is forced legacy
     * ({@link QemuGuest.Builder#forceLegacy(boolean)}).
     */
    TRANSITIONAL,
    /** Modern interface only with the packed virtqueue layout offered ({@code packed=on}). */
    PACKED
}

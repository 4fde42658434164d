package io.jvdpa.cli.probe;

import io.jvdpa.memory.Endianness;

/** The kinds of driver a guest may bring, each needing something different from a back-end. */
public enum DriverKind {
    /** VERSION_1, split ring, little-endian. */
    MODERN_LE("modern LE", true, false, Endianness.LITTLE),
    /** Pre-1.0 driver on a little-endian guest (x86). */
    LEGACY_LE("legacy LE", false, false, Endianness.LITTLE),
    /** Pre-1.0 driver on a big-endian guest (s390x): needs CROSS_ENDIAN on a little-endian host. */
    LEGACY_BE("legacy BE", false, false, Endianness.BIG),
    /** VERSION_1 with the packed ring. */
    PACKED("packed", true, true, Endianness.LITTLE);

    public final String label;
    final boolean modern;
    final boolean packed;
    final Endianness order;

    DriverKind(String label, boolean modern, boolean packed, Endianness order) {
        this.label = label;
        this.modern = modern;
        this.packed = packed;
        this.order = order;
    }
}

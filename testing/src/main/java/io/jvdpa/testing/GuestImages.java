package io.jvdpa.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The kernel and initramfs scripts/guest-images built for one architecture, under build/guest/ of the checkout.
 */
public record GuestImages(GuestArch arch, Path kernel, Path initramfs) {

    /** The images for {@code arch}; fails with what to run when they have not been built. */
    public static GuestImages of(GuestArch arch) {
        return in(RepoRoot.find().resolve("build/guest"), arch);
    }

    /** The images for {@code arch} under {@code guestDirectory} (normally build/guest). */
    public static GuestImages in(Path guestDirectory, GuestArch arch) {
        Path dir = guestDirectory.resolve(arch.directory());
        GuestImages images = new GuestImages(arch, dir.resolve("vmlinuz"), dir.resolve("initramfs.cpio.gz"));
        for (Path p : new Path[] {images.kernel, images.initramfs}) {
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException("guest image " + p + " is missing: run scripts/guest-images "
                        + "(scripts/test runs it before Maven)");
            }
        }
        return images;
    }
}

package io.jvdpa.sys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** What the kernel says this process holds: open descriptors and mappings. */
final class ProcSelf {
    private ProcSelf() {}

    /**
     * The open descriptors, but for the JVM's own: the class loader opens a jar of the class path when it first
     * needs a class from it, which may happen in the middle of a test and is not a leak of the code under test.
     */
    static long openFds() {
        String javaHome = System.getProperty("java.home");
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.map(ProcSelf::target)
                    .filter(t -> !t.isEmpty() && !t.endsWith(".jar") && !t.startsWith(javaHome)).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What a descriptor refers to; empty for one closed while the directory was being read (not counted). */
    private static String target(Path fd) {
        try {
            return Files.readSymbolicLink(fd).toString();
        } catch (IOException e) {
            return "";
        }
    }

    /** The file status and descriptor flags of {@code fd}: the octal "flags:" line of /proc/self/fdinfo/FD. */
    static int fdFlags(int fd) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/fdinfo/" + fd))) {
            String line = lines.filter(l -> l.startsWith("flags:")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no flags line in /proc/self/fdinfo/" + fd));
            return Integer.parseInt(line.substring("flags:".length()).trim(), 8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** True when some line of /proc/self/maps starts at {@code address}. */
    static boolean mapped(long address) {
        String start = Long.toHexString(address) + "-";
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.anyMatch(l -> l.startsWith(start));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static long mappingsNamed(String name) {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.contains(name)).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

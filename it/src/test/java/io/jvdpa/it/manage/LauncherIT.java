package io.jvdpa.it.manage;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.testing.RepoRoot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./jvdpa} launcher on a fresh clone of this checkout's HEAD, as a new user meets it: the first command
 * builds, later ones do not until a main source changes, and without a JDK 25 it stops with a clear message.
 * The clone keeps this checkout's own build out of it; Maven resolves from the local repository.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class LauncherIT {
    private static final String BUILDING = "jvdpa: building";

    @TempDir
    static Path dir;

    private Path clone;
    private Path launcher;

    @BeforeAll
    void cloneTheCheckout() {
        Path root = RepoRoot.find();
        clone = dir.resolve("jvdpa");
        String head = Jvdpa.exec(List.of("git", "-C", root.toString(), "rev-parse", "HEAD"), Map.of()).ok().out()
                .trim();
        Jvdpa.exec(List.of("git", "clone", "--quiet", root.toString(), clone.toString()), Map.of()).ok();
        Jvdpa.exec(List.of("git", "-C", clone.toString(), "checkout", "--quiet", "--detach", head), Map.of()).ok();
        launcher = clone.resolve("jvdpa");
    }

    private Jvdpa.Result run(Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>(List.of(launcher.toString()));
        command.addAll(List.of(args));
        return Jvdpa.exec(command, env);
    }

    @Test
    void buildsOnFirstUseAndAgainOnlyAfterAMainSourceChanged() throws Exception {
        Jvdpa.Result first = run(Map.of(), "--help").ok();
        assertThat(first.err()).contains(BUILDING);
        assertThat(first.out()).contains("Usage: jvdpa", "Commands:");
        for (String command : List.of("net", "blk", "daemon", "dev", "probe")) {
            assertThat(first.out()).as("--help lists %s", command).containsPattern("(?m)^\\s+" + command + "\\s");
        }

        Jvdpa.Result second = run(Map.of(), "--version").ok();
        assertThat(second.err()).as("nothing changed: no build").doesNotContain(BUILDING);
        assertThat(second.out()).startsWith("jvdpa " + projectVersion() + "\n").contains("Java 25");

        Path source = clone.resolve("cli/src/main/java/io/jvdpa/cli/Main.java");
        Files.setLastModifiedTime(source, FileTime.from(Instant.now()));
        assertThat(run(Map.of(), "--version").ok().err()).as("a main source changed: built again").contains(BUILDING);
        assertThat(run(Map.of(), "--version").ok().err()).as("built for that change: no build")
                .doesNotContain(BUILDING);
    }

    @Test
    void refusesClearlyWithoutAJdk25() throws Exception {
        // The directory the launcher searches holds only a JDK 17, so nothing else can satisfy it.
        Path jvms = Files.createDirectories(dir.resolve("jvm"));
        Path jdk17 = stubJdk(jvms.resolve("jdk-17"), 17);
        Jvdpa.Result r = run(Map.of("JAVA_HOME", jdk17.toString(), "JVDPA_JVM_DIR", jvms.toString()), "--version");
        assertThat(r.status()).as("exit status; stderr:\n%s", r.err()).isEqualTo(1);
        assertThat(r.err()).contains("no JDK 25 or newer found", "JAVA_HOME='" + jdk17 + "'", jvms + "/*")
                .doesNotContain(BUILDING);
        assertThat(r.out()).isEmpty();
    }

    /**
     * A JDK directory as scripts/jdk.sh looks at one: an executable bin/javac, and a bin/java that prints its
     * system properties on stderr the way {@code java -XshowSettings:properties -version} does. Were it accepted,
     * the launcher would go on to run that java, which exits 0 and prints no refusal.
     */
    private static Path stubJdk(Path home, int feature) throws Exception {
        Path bin = Files.createDirectories(home.resolve("bin"));
        Files.writeString(bin.resolve("java"), """
                #!/bin/sh
                echo 'Property settings:' >&2
                echo '    java.specification.version = %d' >&2
                echo '    java.version = %d.0.2' >&2
                """.formatted(feature, feature));
        Files.writeString(bin.resolve("javac"), "#!/bin/sh\n");
        for (String tool : List.of("java", "javac")) {
            Files.setPosixFilePermissions(bin.resolve(tool), PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return home;
    }

    /** The version in the clone's parent pom, which --version must print. */
    private String projectVersion() throws Exception {
        Matcher m = Pattern.compile("<artifactId>jvdpa-parent</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(clone.resolve("pom.xml")));
        assertThat(m.find()).as("version in pom.xml").isTrue();
        return m.group(1);
    }
}

package io.jvdpa.cli.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.jvdpa.cli.FatalFailure;
import io.jvdpa.cli.Main;
import io.jvdpa.device.Worker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A worker thread that dies takes its devices' rings with it: the process stops in order and exits 1 (a runtime
 * failure) rather than living on with guests that hang. Run in a child JVM, since the process really exits.
 */
class FatalFailureTest {
    /** The child: a worker that dies of an Error, in a process that waits like the daemon or like a device command. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            FatalFailure.install();
            Worker worker = new Worker("fatal-test-worker", false);
            // As a device's stop does: close its workers, which waits for their threads.
            Runnable stop = () -> {
                long start = System.nanoTime();
                worker.close();
                System.out.println("stopped in order, workers closed in "
                        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms");
            };
            worker.post(() -> {
                throw new OutOfMemoryError("made by the test");
            });
            if (args[0].equals("daemon")) {
                StopOnSignal.awaitThen(stop);
            } else {
                Runtime.getRuntime().addShutdownHook(new Thread(stop));
                Thread.sleep(60_000);
            }
        }
    }

    @ParameterizedTest(name = "waiting like the {0}")
    @ValueSource(strings = {"daemon", "device"})
    void aWorkerThatDiesStopsTheProcessWithARuntimeFailure(String waiting) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), Child.class.getName(), waiting))
                .redirectErrorStream(true).start();
        boolean ended = p.waitFor(30, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly();
        }
        String output = output(p);
        assertThat(ended).as("the process ended: " + output).isTrue();
        assertThat(p.exitValue()).as(output).isEqualTo(Main.EXIT_RUNTIME);
        assertThat(output).contains("thread 'fatal-test-worker' died").contains("made by the test")
                .contains("stopped in order");
        // The dead worker's thread is gone: closing it does not wait out the 5 s join for a thread still running.
        Matcher closed = Pattern.compile("workers closed in (\\d+) ms").matcher(output);
        assertThat(closed.find()).as(output).isTrue();
        assertThat(Long.parseLong(closed.group(1))).isLessThan(4000);
    }

    private static String output(Process p) throws IOException {
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
}

package io.jvdpa.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Runs shell commands over a guest's serial console. Each command is framed by two markers the shell prints,
 * {@code J_BEGIN_n} before it and {@code J_END_n_<status>} after it; the input spells them differently
 * ({@code J_BEG''IN_n}, {@code J_END_n_$?}) so an echo of the typed line never matches. The guest's
 * /etc/jvdpa/profile turns echo off and announces the shell with {@code JVDPA_SHELL_READY}.
 */
final class GuestConsole {
    static final Pattern READY = Pattern.compile("JVDPA_SHELL_READY\\r?\\n");
    private static final byte INTERRUPT = 0x03;
    /** The tty's canonical mode drops what goes beyond 4095 characters in one line. */
    static final int MAX_LINE = 4000;

    private final OutputCapture out;
    private final OutputStream in;
    private final Supplier<String> abort;
    private final Supplier<List<String>> qemuErrors;
    private long sequence;

    GuestConsole(OutputCapture out, OutputStream in, Supplier<String> abort, Supplier<List<String>> qemuErrors) {
        this.out = out;
        this.in = in;
        this.abort = abort;
        this.qemuErrors = qemuErrors;
    }

    void awaitReady(Duration timeout) {
        OutputCapture.Match ready = out.await(READY, 0, timeout, abort);
        out.discardBefore(ready.end());
    }

    synchronized ExecResult exec(String command, Duration timeout) {
        if (command.lines().anyMatch(line -> line.length() > MAX_LINE)) {
            throw new IllegalArgumentException("a command line longer than " + MAX_LINE
                    + " characters would be cut by the guest's tty; split it: " + command.substring(0, 80) + "...");
        }
        long n = ++sequence;
        long start = System.nanoTime();
        long from = out.position();
        send("echo J_BEG''IN_" + n + "\n" + command + "\necho J_END_" + n + "_$?\n");
        Pattern begin = Pattern.compile("(?m)^J_BEGIN_" + n + "\\r?\\n");
        Pattern end = Pattern.compile("J_END_" + n + "_(\\d+)\\r?\\n");
        OutputCapture.Match started;
        OutputCapture.Match finished;
        try {
            started = out.await(begin, from, timeout, abort);
            Duration left = timeout.minusNanos(System.nanoTime() - start);
            finished = out.await(end, started.end(), left.isNegative() ? Duration.ZERO : left, abort);
        } catch (HarnessException e) {
            // Interrupt the command so that the shell takes the next one.
            send(new String(new byte[] {INTERRUPT}, StandardCharsets.US_ASCII));
            throw new GuestException("guest command did not finish: " + command + "\n" + e.getMessage()
                    + "\n--- console since the command ---\n" + tailFrom(from), qemuErrors.get());
        }
        String text = out.textFrom(started.end());
        String output = text.substring(0, (int) (finished.start() - started.end()));
        if (output.endsWith("\n")) {
            output = output.substring(0, output.length() - 1);
        }
        out.discardBefore(finished.end());
        return new ExecResult(command, Integer.parseInt(finished.group(1)), output.replace("\r", ""),
                Duration.ofNanos(System.nanoTime() - start));
    }

    private String tailFrom(long from) {
        String text = out.textFrom(from);
        return text.length() > 4000 ? "..." + text.substring(text.length() - 4000) : text;
    }

    private void send(String text) {
        try {
            in.write(text.getBytes(StandardCharsets.UTF_8));
            in.flush();
        } catch (IOException e) {
            String reason = abort.get();
            throw new GuestException("cannot write to the guest console: " + e.getMessage()
                    + (reason != null ? "; " + reason : ""), qemuErrors.get());
        }
    }
}

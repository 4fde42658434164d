package io.jvdpa.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One output stream of an external process, read on its own thread: every character goes to a log file at once
 * (so a hung test still leaves a complete log) and into an in-memory text that tests wait on with a pattern.
 * Positions are absolute character offsets since the stream began, stable when old text is discarded.
 */
public final class OutputCapture {
    /** Retained text beyond this is discarded from the front; waits and parsers look at recent output only. */
    private static final int MAX_RETAINED = 8 << 20;
    private static final Duration POLL = Duration.ofMillis(50);
    private static final Duration END_GRACE = Duration.ofSeconds(2);

    private final String name;
    private final Path log;
    private final StringBuilder text = new StringBuilder();
    private long discarded;
    private boolean ended;
    private final Thread reader;

    private OutputCapture(String name, Path log, InputStream stream) {
        this.name = name;
        this.log = log;
        this.reader = Thread.ofPlatform().daemon().name("capture-" + name).unstarted(() -> pump(stream));
    }

    /** Starts reading {@code stream} into {@code log} and memory. */
    public static OutputCapture start(String name, Path log, InputStream stream) {
        OutputCapture capture = new OutputCapture(name, log, stream);
        capture.reader.start();
        return capture;
    }

    private void pump(InputStream stream) {
        char[] chunk = new char[8192];
        try (Reader in = new InputStreamReader(stream, StandardCharsets.UTF_8);
             Writer out = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
            int n;
            while ((n = in.read(chunk)) >= 0) {
                out.write(chunk, 0, n);
                out.flush();
                append(chunk, n);
            }
        } catch (IOException e) {
            // The process went away or the log could not be written: either way the stream has ended.
            append(("\n[" + name + " capture stopped: " + e + "]\n").toCharArray(), -1);
        } finally {
            synchronized (this) {
                ended = true;
                notifyAll();
            }
        }
    }

    private synchronized void append(char[] chunk, int n) {
        text.append(chunk, 0, n < 0 ? chunk.length : n);
        if (text.length() > MAX_RETAINED) {
            int drop = text.length() - MAX_RETAINED / 2;
            text.delete(0, drop);
            discarded += drop;
        }
        notifyAll();
    }

    /** The file every character of this stream is written to. */
    public Path log() {
        return log;
    }

    /** Absolute position just past the text seen so far. */
    public synchronized long position() {
        return discarded + text.length();
    }

    /** Whether the stream has ended (the process closed it or exited). */
    public synchronized boolean ended() {
        return ended;
    }

    /** The retained text from absolute position {@code from} (clamped to what is retained). */
    public synchronized String textFrom(long from) {
        return text.substring(relative(from));
    }

    /** All retained text. */
    public synchronized String text() {
        return text.toString();
    }

    /** At most the last {@code chars} characters, for error messages. */
    public synchronized String tail(int chars) {
        return text.substring(Math.max(0, text.length() - chars));
    }

    /** Forgets text before absolute position {@code upTo}; later positions stay valid. */
    public synchronized void discardBefore(long upTo) {
        int drop = relative(upTo);
        text.delete(0, drop);
        discarded += drop;
    }

    /** The first match of {@code pattern} starting at or after absolute position {@code from}, if any. */
    public synchronized Optional<Match> find(Pattern pattern, long from) {
        Matcher m = pattern.matcher(text);
        if (!m.find(relative(from))) {
            return Optional.empty();
        }
        return Optional.of(new Match(m.toMatchResult(), discarded + m.start(), discarded + m.end()));
    }

    /**
     * Waits for {@code pattern} at or after {@code from}.
     *
     * @param abort checked while waiting; a non-null answer ends the wait with a {@link HarnessException}
     *              carrying it (e.g. "QEMU exited with status 1")
     * @throws HarnessException on timeout, on abort, or when the stream ends without a match
     */
    public Match await(Pattern pattern, long from, Duration timeout, Supplier<String> abort) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            boolean streamEnded;
            synchronized (this) {
                Optional<Match> match = find(pattern, from);
                if (match.isPresent()) {
                    return match.get();
                }
                streamEnded = ended;
            }
            String reason = abort.get();
            if (reason != null) {
                throw new HarnessException(reason);
            }
            if (streamEnded) {
                // A process closes its output a moment before it is seen to exit; give the abort check (which
                // names the exit status) that moment.
                String late = awaitAbort(abort, END_GRACE);
                throw new HarnessException(late != null ? late
                        : name + " ended before printing /" + pattern + "/; log " + log);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new HarnessException("no /" + pattern + "/ from " + name + " within " + timeout + "; log " + log);
            }
            synchronized (this) {
                try {
                    wait(Math.max(1, Math.min(POLL.toMillis(), left / 1_000_000)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new HarnessException("interrupted waiting for /" + pattern + "/ from " + name, e);
                }
            }
        }
    }

    private static String awaitAbort(Supplier<String> abort, Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        String reason = abort.get();
        while (reason == null && System.nanoTime() < deadline) {
            try {
                Thread.sleep(POLL);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
            reason = abort.get();
        }
        return reason;
    }

    /** Waits up to {@code timeout} for the reading thread to see the end of the stream. */
    public void awaitEnd(Duration timeout) {
        try {
            reader.join(timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private int relative(long absolute) {
        return Math.clamp(absolute - discarded, 0, text.length());
    }

    /** A match with absolute positions. */
    public record Match(MatchResult result, long start, long end) {
        public String group(int group) {
            return result.group(group);
        }
    }
}

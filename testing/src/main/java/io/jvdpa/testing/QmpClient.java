package io.jvdpa.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A client of QEMU's machine protocol (QMP) on a unix socket: {@link #execute} sends a command and returns its
 * {@code return} value, or throws {@link QmpException} with QEMU's error class and description. Asynchronous
 * events that arrive meanwhile are kept ({@link #events()}). Replies are read on a thread of their own, so every
 * wait is bounded and a QEMU that exits ends it at once.
 */
public final class QmpClient implements AutoCloseable {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Stands for the end of the stream in {@link #replies}. */
    private static final JsonNode END = JSON.createObjectNode();

    private final String name;
    private final SocketChannel channel;
    private final Supplier<String> abort;
    private final LinkedBlockingQueue<JsonNode> replies = new LinkedBlockingQueue<>();
    private final List<JsonNode> events = new ArrayList<>();
    private volatile String readFailure;
    private long nextId;

    private QmpClient(String name, SocketChannel channel, Supplier<String> abort) {
        this.name = name;
        this.channel = channel;
        this.abort = abort;
        Thread.ofPlatform().daemon().name("qmp-" + name).start(this::readReplies);
    }

    /**
     * Connects to the monitor at {@code socket}, waiting up to {@code timeout} for QEMU to create it, and leaves
     * capabilities negotiation mode.
     *
     * @param abort checked while waiting; a non-null answer (e.g. "QEMU exited with status 1") ends the wait
     */
    public static QmpClient connect(String name, Path socket, Duration timeout, Supplier<String> abort) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String reason = abort.get();
            if (reason != null) {
                throw new HarnessException("no QMP monitor at " + socket + ": " + reason);
            }
            if (Files.exists(socket)) {
                try {
                    SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
                    try {
                        channel.connect(UnixDomainSocketAddress.of(socket));
                    } catch (IOException e) {
                        channel.close();
                        throw e;
                    }
                    QmpClient client = new QmpClient(name, channel, abort);
                    try {
                        client.await(Duration.ofNanos(Math.max(deadline - System.nanoTime(), 0)), "the QMP greeting");
                        client.execute("qmp_capabilities");
                    } catch (RuntimeException e) {
                        client.close();
                        throw e;
                    }
                    return client;
                } catch (IOException e) {
                    // QEMU has created the socket but does not listen on it yet: try again.
                }
            }
            if (System.nanoTime() > deadline) {
                throw new HarnessException("no QMP monitor at " + socket + " within " + timeout);
            }
            ManagedProcess.sleep(Duration.ofMillis(20));
        }
    }

    /** {@link #execute(String, Map, Duration)} without arguments. */
    public JsonNode execute(String command) {
        return execute(command, Map.of(), DEFAULT_TIMEOUT);
    }

    /** {@link #execute(String, Map, Duration)} with {@link #DEFAULT_TIMEOUT}. */
    public JsonNode execute(String command, Map<String, ?> arguments) {
        return execute(command, arguments, DEFAULT_TIMEOUT);
    }

    /**
     * Runs {@code command} with {@code arguments} (values that Jackson turns into JSON) and returns what QEMU
     * answered under {@code return}.
     *
     * @throws QmpException     if QEMU answered with an error
     * @throws HarnessException if no answer came within {@code timeout} or QEMU went away
     */
    public synchronized JsonNode execute(String command, Map<String, ?> arguments, Duration timeout) {
        long id = ++nextId;
        ObjectNode request = JSON.createObjectNode().put("execute", command).put("id", id);
        if (!arguments.isEmpty()) {
            request.set("arguments", JSON.valueToTree(arguments));
        }
        try {
            ByteBuffer bytes = ByteBuffer.wrap((JSON.writeValueAsString(request) + "\n").getBytes(StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        } catch (IOException e) {
            String reason = abort.get();
            throw new HarnessException("cannot send " + command + " to " + name + "'s monitor: " + e.getMessage()
                    + (reason != null ? "; " + reason : ""), e);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode reply = await(Duration.ofNanos(Math.max(deadline - System.nanoTime(), 0)), "an answer to " + command);
            if (reply.path("id").asLong(-1) != id) {
                continue; // an answer to an earlier command that timed out
            }
            if (reply.has("error")) {
                JsonNode error = reply.get("error");
                throw new QmpException(name + ": " + command + " failed: " + error.path("desc").asText(),
                        error.path("class").asText());
            }
            return reply.path("return");
        }
    }

    /** The asynchronous events QEMU has sent so far (each with "event", "data" and "timestamp"). */
    public List<JsonNode> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closing a socket we own: nothing to do about a failure
        }
    }

    private JsonNode await(Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode next;
            try {
                next = replies.poll(Math.min(100, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)),
                        TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HarnessException("interrupted waiting for " + what + " from " + name, e);
            }
            if (next == END) {
                replies.add(END);
                String reason = abort.get();
                throw new HarnessException(name + "'s monitor closed while waiting for " + what
                        + (readFailure != null ? " (" + readFailure + ")" : "") + (reason != null ? "; " + reason : ""));
            }
            if (next != null) {
                return next;
            }
            String reason = abort.get();
            if (reason != null) {
                throw new HarnessException("waiting for " + what + " from " + name + ": " + reason);
            }
            if (System.nanoTime() > deadline) {
                throw new HarnessException("no " + what + " from " + name + " within " + timeout);
            }
        }
    }

    private void readReplies() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode message = JSON.readTree(line);
                if (message.has("event")) {
                    synchronized (events) {
                        events.add(message);
                    }
                } else {
                    replies.add(message);
                }
            }
        } catch (IOException | UncheckedIOException e) {
            readFailure = e.toString();
        } finally {
            replies.add(END);
        }
    }
}

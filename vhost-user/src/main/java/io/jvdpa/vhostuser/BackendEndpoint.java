package io.jvdpa.vhostuser;

import io.jvdpa.sys.UnixServerSocket;
import io.jvdpa.sys.UnixSocket;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a back-end meets its front-ends: listening on a socket path (server mode, the usual
 * {@code --socket-path}) or connecting to the front-end's socket and reconnecting when it goes away (client
 * mode, for QEMU's {@code server=on} chardev). Serves one front-end at a time; when one leaves, the handler
 * resets and the next is served.
 */
public final class BackendEndpoint implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BackendEndpoint.class);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(1);

    private final Path path;
    private final boolean client;
    private final BackendHandler handler;
    private final String name;
    private final UnixServerSocket server;
    private final Thread thread;
    private volatile boolean closed;
    private volatile MessageChannel current;
    private volatile int connections;

    private BackendEndpoint(Path path, boolean client, int mode, BackendHandler handler, String name) throws IOException {
        this.path = path;
        this.client = client;
        this.handler = handler;
        this.name = name;
        this.server = client ? null : UnixServerSocket.bind(path, mode);
        this.thread = Thread.ofPlatform().name("vhost-user " + name).daemon().unstarted(this::run);
    }

    /** Listens on {@code path} (created with {@code mode}, e.g. 0600) and serves whoever connects. */
    public static BackendEndpoint listen(Path path, int mode, BackendHandler handler, String name) throws IOException {
        BackendEndpoint e = new BackendEndpoint(path, false, mode, handler, name);
        e.thread.start();
        return e;
    }

    /** Connects to a front-end listening on {@code path}, and again with back-off whenever it goes away. */
    public static BackendEndpoint connect(Path path, BackendHandler handler, String name) {
        try {
            BackendEndpoint e = new BackendEndpoint(path, true, 0, handler, name);
            e.thread.start();
            return e;
        } catch (IOException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    public Path path() {
        return path;
    }

    /** How many front-end connections have been served so far (including the current one). */
    public int connections() {
        return connections;
    }

    public boolean connected() {
        return current != null;
    }

    private void run() {
        Duration backoff = Duration.ofMillis(50);
        while (!closed) {
            UnixSocket socket;
            try {
                socket = client ? UnixSocket.connect(path, Duration.ofSeconds(5)) : server.accept();
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                LOG.debug("{}: no front-end yet at {}: {}", name, path, e.getMessage());
                sleep(backoff);
                backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
                continue;
            }
            backoff = Duration.ofMillis(50);
            MessageChannel channel = new MessageChannel(socket);
            current = channel;
            connections++;
            LOG.info("{}: front-end connected on {}", name, path);
            new BackendConnection(channel, handler, name).serve();
            current = null;
            if (client && !closed) {
                sleep(backoff);
            }
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Drops the current front-end (the handler resets) but keeps serving: the next one may connect. */
    public void disconnect() {
        MessageChannel c = current;
        if (c != null) {
            c.close();
        }
    }

    /** Stops serving, disconnects the front-end, and removes the socket file it created. */
    @Override
    public void close() {
        closed = true;
        if (server != null) {
            server.close();
        }
        disconnect();
        try {
            thread.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

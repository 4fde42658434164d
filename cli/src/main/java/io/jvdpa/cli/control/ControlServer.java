package io.jvdpa.cli.control;

import io.jvdpa.sys.LinuxException;
import io.jvdpa.sys.PeerCredentials;
import io.jvdpa.sys.UnixServerSocket;
import io.jvdpa.sys.UnixSocket;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's control socket: AF_UNIX, mode 0600, one JSON request and one JSON response per connection.
 * Only peers running as the daemon's own user or as root are served (SO_PEERCRED), whatever the file mode.
 *
 * <p>{@link #close()} stops taking connections, drops those that have not sent a request yet, lets the requests
 * being handled finish, and removes the socket file.
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlServer.class);
    private static final int MODE = 0600;
    /** How long a client may take to send its request. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private final UnixServerSocket server;
    private final ControlHandler handler;
    private final int ownUid;
    private final Thread acceptor;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;

    private ControlServer(UnixServerSocket server, ControlHandler handler, int ownUid) {
        this.server = server;
        this.handler = handler;
        this.ownUid = ownUid;
        this.acceptor = Thread.ofPlatform().name("control " + server.path()).daemon().unstarted(this::acceptLoop);
    }

    /**
     * Listens on {@code path}, creating its directory (mode 0700) if missing.
     *
     * @throws IOException when the path is taken by a live daemon or is not a socket, or the directory cannot be made
     */
    public static ControlServer start(Path path, ControlHandler handler) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        }
        ControlServer s = new ControlServer(UnixServerSocket.bind(path, MODE), handler, effectiveUid());
        s.acceptor.start();
        return s;
    }

    public Path path() {
        return server.path();
    }

    /** The effective uid of this process: the owner of /proc/self (proc(5)). */
    static int effectiveUid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    private void acceptLoop() {
        while (!closing) {
            UnixSocket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                if (!closing) {
                    LOG.error("control socket {}: accept failed, no more requests: {}", server.path(), e.getMessage());
                }
                return;
            }
            if (closing) {
                socket.close();
                return;
            }
            Connection c = new Connection(new LineChannel(socket));
            connections.add(c);
            Thread.ofPlatform().name("control request").daemon().start(c::serve);
        }
    }

    /** One client: check who it is, read its request, answer. */
    private final class Connection {
        private final LineChannel channel;
        private volatile boolean handling;

        Connection(LineChannel channel) {
            this.channel = channel;
        }

        void serve() {
            try {
                PeerCredentials peer = channel.socket().peerCredentials();
                channel.socket().setReceiveTimeout(REQUEST_TIMEOUT);
                String line = channel.readLine();
                if (line == null) {
                    return;
                }
                ControlResponse response;
                synchronized (this) {
                    handling = !closing;
                }
                if (!handling) {
                    response = ControlResponse.failure(ErrorKind.STOPPING, "the daemon is stopping");
                } else if (peer.uid() != ownUid && peer.uid() != 0) {
                    LOG.warn("control socket: refused a request from uid {} (pid {}): only uid {} or root", peer.uid(),
                            peer.pid(), ownUid);
                    response = ControlResponse.failure(ErrorKind.DENIED, "permission denied: uid " + peer.uid()
                            + " is neither the daemon's user (uid " + ownUid + ") nor root");
                } else {
                    LOG.debug("control request from pid {} uid {}: {}", peer.pid(), peer.uid(), line);
                    response = answer(line);
                }
                channel.writeLine(Json.WIRE.writeValueAsString(response));
            } catch (IOException e) {
                if (!closing) {
                    LOG.warn("control socket: a client went away: {}", e.getMessage());
                }
            } finally {
                channel.close();
                connections.remove(this);
                synchronized (ControlServer.this) {
                    ControlServer.this.notifyAll();
                }
            }
        }

        private ControlResponse answer(String line) {
            ControlRequest request;
            try {
                request = Json.WIRE.readValue(line, ControlRequest.class);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                return ControlResponse.failure(ErrorKind.USAGE, "not a control request: " + e.getOriginalMessage());
            }
            if (request.command() == null) {
                return ControlResponse.failure(ErrorKind.USAGE, "not a control request: no \"command\"");
            }
            try {
                return ControlResponse.success(Json.WIRE.valueToTree(handler.handle(request)));
            } catch (ControlException e) {
                return ControlResponse.failure(e.kind(), e.getMessage());
            } catch (RuntimeException e) {
                LOG.error("control request {} failed", request, e);
                return ControlResponse.failure(ErrorKind.FAILED, e.toString());
            }
        }

        /** Ends a connection that has not started a request; one being handled is left to finish. */
        void reject() {
            synchronized (this) {
                if (handling) {
                    return;
                }
            }
            try {
                channel.socket().shutdown();
            } catch (LinuxException | IllegalStateException e) {
                // already closed by its own thread
            }
        }
    }

    /**
     * Stops taking requests, waits up to {@code grace} for those being handled, and removes the socket file.
     */
    public void close(Duration grace) {
        closing = true;
        server.close();
        try {
            acceptor.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        connections.forEach(Connection::reject);
        long deadline = System.nanoTime() + grace.toNanos();
        synchronized (this) {
            while (!connections.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    LOG.warn("control socket: {} requests still running after {}", connections.size(), grace);
                    break;
                }
                try {
                    wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }
}

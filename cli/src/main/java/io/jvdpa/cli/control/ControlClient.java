package io.jvdpa.cli.control;

import io.jvdpa.sys.UnixSocket;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/** Sends one request to a daemon's control socket and returns its response. */
public final class ControlClient {
    private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(60);

    private ControlClient() {}

    /**
     * @throws ControlException of kind FAILED when no daemon listens at {@code path} or it does not answer
     */
    public static ControlResponse send(Path path, ControlRequest request) {
        UnixSocket socket;
        try {
            socket = UnixSocket.connect(path);
        } catch (IOException e) {
            throw new ControlException(ErrorKind.FAILED, "no jvdpa daemon at " + path + " (" + e.getMessage()
                    + "); start one with `jvdpa daemon --config FILE` or name its socket with --control-socket", e);
        }
        try (LineChannel channel = new LineChannel(socket)) {
            socket.setReceiveTimeout(RESPONSE_TIMEOUT);
            channel.writeLine(Json.WIRE.writeValueAsString(request));
            String line = channel.readLine();
            if (line == null) {
                throw new ControlException(ErrorKind.FAILED, "the daemon at " + path + " closed the connection without"
                        + " an answer");
            }
            return Json.WIRE.readValue(line, ControlResponse.class);
        } catch (IOException e) {
            throw new ControlException(ErrorKind.FAILED, "talking to the daemon at " + path + ": " + e.getMessage(), e);
        }
    }
}

package io.jvdpa.it.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The host's side of TAP tests: ip(8) commands, ping, and TCP peers that hash what they carry. */
final class HostNet {
    private HostNet() {}

    /** Runs a host command to its end; returns its output, failing the test on a non-zero status. */
    static String run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out;
            try (InputStream in = p.getInputStream()) {
                out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(List.of(command) + " did not finish");
            }
            assertThat(p.exitValue()).as("%s: %s", List.of(command), out).isZero();
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Like {@link #run} but ignores failure (clean-up). */
    static void runQuietly(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (IOException e) {
            // nothing to clean up
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Accepts one connection on {@code address:port} and hashes everything it receives until EOF. */
    static CompletableFuture<Received> receiveOne(String address, int port) throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getByName(address), port));
        server.setSoTimeout((int) TimeUnit.MINUTES.toMillis(2));
        return CompletableFuture.supplyAsync(() -> {
            try (server; Socket s = server.accept(); InputStream in = s.getInputStream()) {
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                byte[] buffer = new byte[1 << 16];
                long total = 0;
                int n;
                while ((n = in.read(buffer)) > 0) {
                    digest.update(buffer, 0, n);
                    total += n;
                }
                return new Received(total, HexFormat.of().formatHex(digest.digest()));
            } catch (Exception e) {
                throw new IllegalStateException("receiving on " + address + ":" + port + ": " + e, e);
            }
        });
    }

    record Received(long bytes, String sha256) {}

    /** Connects to {@code address:port} (retrying while the listener starts) and sends {@code data}. */
    static void send(String address, int port, byte[] data, Duration patience) throws Exception {
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(address, port), 2000);
                try (OutputStream out = s.getOutputStream()) {
                    out.write(data);
                }
                return;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    static byte[] random(int length, long seed) {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        return data;
    }
}

package io.jvdpa.sys;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The calls a data path makes per kick, per notification and per request (eventfd signal and drain, epoll_wait,
 * positioned vectored file I/O) allocate nothing on the Java heap once compiled when they succeed. Counted with the thread's allocated-bytes counter over many calls after a warm-up long enough for
 * C2; one 40-byte object per call would show as 40 bytes per call.
 */
class DataPathAllocationTest {
    private static final int WARM_UP = 60_000;
    private static final int MEASURED = 100_000;
    /** Far below one object per call; leaves room for a stray allocation by the runtime during the loop. */
    private static final double BYTES_PER_CALL = 0.5;
    /** The JDK's errno capture-segment slice: a 40-byte segment object. */
    private static final double CAPTURE_SLICE = 40.5;

    @TempDir
    Path dir;

    interface Call {
        void run() throws Exception;
    }

    @Test
    void eventfdSignalAndDrain() throws Exception {
        try (EventFd e = EventFd.create()) {
            assertThat(perCall(() -> {
                e.signal();
                if (e.drain() != 1) throw new AssertionError("lost a signal");
            })).isLessThan(BYTES_PER_CALL);
        }
    }

    /**
     * A failed call is made again with errno captured, and the JDK slices the capture segment for that call
     * (40 bytes when C2 does not remove it). The data path fails a call only at the end of a burst (a TAP read
     * that finds nothing more); what must not happen is more than that slice, such as an exception per EAGAIN.
     */
    @Test
    void drainingAnEmptyEventfdFailsWithEagainAndAllocatesAtMostTheCaptureSlice() throws Exception {
        try (EventFd e = EventFd.create()) {
            assertThat(perCall(() -> {
                if (e.drain() != 0) throw new AssertionError("signal from nowhere");
            })).isLessThanOrEqualTo(CAPTURE_SLICE);
        }
    }

    @Test
    void epollWaitWithNothingReadyAndWithAReadyFd() throws Exception {
        try (Epoll epoll = Epoll.create(8); EventFd e = EventFd.create()) {
            epoll.add(e.fd(), Epoll.EPOLLIN, 7);
            assertThat(perCall(() -> {
                if (epoll.wait(0) != 0) throw new AssertionError("ready without a signal");
                e.signal();
                if (epoll.wait(0) != 1 || epoll.token(0) != 7) throw new AssertionError("signal not seen");
                e.drain();
            })).isLessThan(BYTES_PER_CALL);
        }
    }

    @Test
    void positionedVectoredReadAndWrite() throws Exception {
        Path file = dir.resolve("data");
        Files.write(file, new byte[1 << 20]);
        try (Arena arena = Arena.ofConfined(); Fd fd = Fd.open(file, OpenFlags.O_RDWR, 0)) {
            MemorySegment a = arena.allocate(4096, 4096);
            MemorySegment b = arena.allocate(512, 512);
            IoVec iov = new IoVec(4);
            long[] at = {0};
            assertThat(perCall(() -> {
                long offset = (at[0]++ % 200) * 4608;
                iov.clear().add(a).add(b);
                FileIo.pwritevFully(fd, iov, offset);
                iov.clear().add(a).add(b);
                if (FileIo.preadv(fd, iov, offset) != 4608) throw new AssertionError("short read");
            })).isLessThan(BYTES_PER_CALL);
        }
    }

    private static double perCall(Call call) throws Exception {
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (int i = 0; i < WARM_UP; i++) {
            call.run();
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < MEASURED; i++) {
            call.run();
        }
        return (double) (threads.getCurrentThreadAllocatedBytes() - before) / MEASURED;
    }
}

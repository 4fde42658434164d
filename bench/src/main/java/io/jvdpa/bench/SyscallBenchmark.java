package io.jvdpa.bench;

import io.jvdpa.sys.Epoll;
import io.jvdpa.sys.EventFd;
import io.jvdpa.sys.Fd;
import io.jvdpa.sys.FileIo;
import io.jvdpa.sys.IoVec;
import io.jvdpa.sys.LinuxException;
import io.jvdpa.sys.OpenFlags;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Linux calls a device makes per kick, notification and request, through FFM: eventfd signal and drain (a
 * call and a kick), draining an empty eventfd (EAGAIN, the failure path), epoll_wait with nothing ready (a poll
 * turn), and a 4 KiB preadv (a blk read). With {@code -prof gc}, gc.alloc.rate.norm shows that none of them
 * allocates, failure path included.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SyscallBenchmark {
    private EventFd eventFd;
    private Epoll epoll;
    private Path file;
    private Fd image;
    private Arena arena;
    private IoVec iov;
    private MemorySegment page;

    @Setup
    public void setUp() throws Exception {
        eventFd = EventFd.create();
        epoll = Epoll.create(8);
        try (EventFd idle = EventFd.create()) {
            epoll.add(idle.fd(), Epoll.EPOLLIN, 1);
        }
        file = Files.createTempFile("jvdpa-bench", ".img");
        Files.write(file, new byte[1 << 20]);
        image = Fd.open(file, OpenFlags.O_RDWR, 0);
        arena = Arena.ofConfined();
        page = arena.allocate(4096, 4096);
        iov = new IoVec(4);
    }

    @TearDown
    public void tearDown() throws Exception {
        eventFd.close();
        epoll.close();
        image.close();
        arena.close();
        Files.deleteIfExists(file);
    }

    @Benchmark
    public long eventfdSignalAndDrain() throws LinuxException {
        eventFd.signal();
        return eventFd.drain();
    }

    @Benchmark
    public long eventfdDrainEmpty() throws LinuxException {
        return eventFd.drain();
    }

    @Benchmark
    public int epollWaitNothingReady() throws LinuxException {
        return epoll.wait(0);
    }

    @Benchmark
    public long preadv4k() throws LinuxException {
        iov.clear().add(page);
        return FileIo.preadv(image, iov, 8192);
    }
}

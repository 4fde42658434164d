package io.jvdpa.sys;

import java.lang.management.ManagementFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
class EpollTest {
    @Test
    void eventFdCountsSignalsAndDrainsToZero() throws Exception {
        try (EventFd event = EventFd.create()) {
            assertThat(event.drain()).isZero();
            event.signal();
            event.signal();
            event.signal();
            assertThat(event.drain()).isEqualTo(3);
            assertThat(event.drain()).isZero();
        }
    }

    @Test
    void wakeUpsArriveWithTheirTokens() throws Exception {
        try (Epoll epoll = Epoll.create(4); EventFd kick0 = EventFd.create(); EventFd kick1 = EventFd.create();
             EventFd kick2 = EventFd.create()) {
            epoll.add(kick0.fd(), Epoll.EPOLLIN, 100);
            epoll.add(kick1.fd(), Epoll.EPOLLIN, 0xdead_beef_cafe_f00dL);
            epoll.add(kick2.fd(), Epoll.EPOLLIN, -1);
            assertThat(epoll.wait(0)).isZero();

            kick1.signal();
            assertThat(epoll.wait(1000)).isEqualTo(1);
            assertThat(epoll.token(0)).isEqualTo(0xdead_beef_cafe_f00dL);
            assertThat(epoll.events(0)).isEqualTo(Epoll.EPOLLIN);
            assertThatThrownBy(() -> epoll.token(1)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThat(kick1.drain()).isEqualTo(1);
            assertThat(epoll.wait(0)).isZero();

            kick0.signal();
            kick2.signal();
            assertThat(epoll.wait(1000)).isEqualTo(2);
            assertThat(new long[] {epoll.token(0), epoll.token(1)}).containsExactlyInAnyOrder(100L, -1L);

            epoll.modify(kick0.fd(), Epoll.EPOLLIN, 7);
            epoll.remove(kick2.fd());
            assertThat(epoll.wait(1000)).isEqualTo(1);
            assertThat(epoll.token(0)).isEqualTo(7);
        }
    }

    @Test
    void anotherThreadsSignalWakesABlockedWait() throws Exception {
        try (Epoll epoll = Epoll.create(); EventFd call = EventFd.create()) {
            epoll.add(call.fd(), Epoll.EPOLLIN, 42);
            CompletableFuture<Long> waiter = CompletableFuture.supplyAsync(() -> {
                try {
                    int n = epoll.wait(10_000);
                    return n == 1 ? epoll.token(0) : -n;
                } catch (LinuxException e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(100);
            assertThat(waiter).isNotDone();
            call.signal();
            assertThat(waiter.get(5, TimeUnit.SECONDS)).isEqualTo(42);
        }
    }

    @Test
    void waitTimesOut() throws Exception {
        try (Epoll epoll = Epoll.create(); EventFd quiet = EventFd.create()) {
            epoll.add(quiet.fd(), Epoll.EPOLLIN, 1);
            long start = System.nanoTime();
            assertThat(epoll.wait(100)).isZero();
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(90_000_000L);
        }
    }

    @Test
    void registeringTwiceNamesTheCall() throws Exception {
        try (Epoll epoll = Epoll.create(); EventFd event = EventFd.create()) {
            epoll.add(event.fd(), Epoll.EPOLLIN, 1);
            assertThatThrownBy(() -> epoll.add(event.fd(), Epoll.EPOLLIN, 2))
                    .isInstanceOfSatisfying(LinuxException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST))
                    .hasMessageContaining("epoll_ctl(").hasMessageContaining("EPOLL_CTL_ADD");
        }
    }

    @Test
    void adoptedEventFdReceivedOverASocketWorks() throws Exception {
        UnixSocket[] pair = UnixSocket.pair();
        try (UnixSocket a = pair[0]; UnixSocket b = pair[1]; EventFd ours = EventFd.create();
             ReceivedFds fds = new ReceivedFds(); java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            a.send(arena.allocate(1), ours.fd().value());
            b.recv(arena.allocate(1), fds);
            try (EventFd theirs = EventFd.adopt(fds.take(0))) {
                theirs.signal();
                theirs.signal();
                assertThat(ours.drain()).isEqualTo(2);
            }
        }
    }

    @Test
    void signalWaitDrainAllocatesNothingOnceCompiled() throws Exception {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Epoll epoll = Epoll.create(); EventFd kick = EventFd.create()) {
            epoll.add(kick.fd(), Epoll.EPOLLIN, 9);
            assertThat(loop(epoll, kick, 50_000)).isEqualTo(9L * 50_000);
            // The JIT compiles in the background; while it has not finished, the interpreter allocates. Steady
            // state is what counts: some batch after warm-up must allocate nothing.
            long least = Long.MAX_VALUE;
            for (int batch = 0; batch < 40 && least > 0; batch++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                loop(epoll, kick, 20_000);
                least = Math.min(least, threads.getCurrentThreadAllocatedBytes() - before);
            }
            assertThat(least).as("bytes allocated by 20000 signal/wait/drain rounds").isZero();
        }
    }

    private static long loop(Epoll epoll, EventFd kick, int rounds) throws LinuxException {
        long sum = 0;
        for (int i = 0; i < rounds; i++) {
            kick.signal();
            int n = epoll.wait(1000);
            for (int j = 0; j < n; j++) sum += epoll.token(j) * kick.drain();
        }
        return sum;
    }

    @Test
    void thousandCreateCloseCyclesLeakNothing() throws Exception {
        long before = ProcSelf.openFds();
        for (int i = 0; i < 1000; i++) {
            try (Epoll epoll = Epoll.create(); EventFd event = EventFd.create()) {
                epoll.add(event.fd(), Epoll.EPOLLIN, i);
                event.signal();
                epoll.wait(0);
            }
        }
        assertThat(ProcSelf.openFds()).isEqualTo(before);
    }
}

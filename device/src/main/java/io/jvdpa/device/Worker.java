package io.jvdpa.device;

import io.jvdpa.sys.CpuAffinity;
import io.jvdpa.sys.Epoll;
import io.jvdpa.sys.EventFd;
import io.jvdpa.sys.LinuxException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One data-path thread: waits on the kick eventfds of the queues placed on it (and on any other fd a device
 * registers, such as a TAP device) and runs their handlers. In poll mode it never sleeps: it runs every
 * registered poller each turn and looks at its fds without blocking.
 *
 * <p>Everything that changes a running queue (start, stop, new memory) runs here too, posted with
 * {@link #call}: the data path needs no locks because only this thread touches its queues.
 */
public final class Worker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    private static final long WAKE_TOKEN = -1;
    /**
     * In poll mode the rings are looked at every turn, the fds (wake-up, TAP, kicks) every this many turns: an
     * epoll_wait per turn would cost more than the ring check itself.
     */
    private static final int EPOLL_EVERY = 16;
    /** No CPU of its own: the scheduler places the thread. */
    public static final int ANY_CPU = -1;

    /** Something the worker runs when its fd is readable, or on every turn in poll mode. */
    public interface Handler {
        void run();
    }

    private final String name;
    private final boolean poll;
    private final Epoll epoll;
    private final EventFd wake;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final List<Handler> handlers = new ArrayList<>();
    private final List<Handler> pollers = new ArrayList<>();
    private final Thread thread;
    private volatile boolean closed;

    /** A worker the scheduler places. */
    public Worker(String name, boolean poll) throws LinuxException {
        this(name, poll, ANY_CPU);
    }

    /**
     * A worker whose thread runs on {@code cpu} alone ({@link #ANY_CPU}: wherever the scheduler puts it). Fails
     * when the CPU cannot be had, before any queue is placed on it.
     */
    public Worker(String name, boolean poll, int cpu) throws LinuxException {
        this.name = name;
        this.poll = poll;
        this.epoll = Epoll.create(64);
        this.wake = EventFd.create();
        epoll.add(wake.fd(), Epoll.EPOLLIN, WAKE_TOKEN);
        CompletableFuture<Void> placed = new CompletableFuture<>();
        this.thread = Thread.ofPlatform().name(name).daemon().start(() -> {
            if (cpu != ANY_CPU) {
                try {
                    CpuAffinity.pinCurrentThread(cpu);
                } catch (Throwable t) {
                    // Whatever it is, the constructor waiting below must hear of it, or it waits forever.
                    placed.completeExceptionally(t);
                    return;
                }
            }
            placed.complete(null);
            loop();
        });
        try {
            placed.join();
        } catch (CompletionException e) {
            epoll.close();
            wake.close();
            switch (e.getCause()) {
                case LinuxException le -> throw le;
                case RuntimeException re -> throw re;
                case Error err -> throw err;
                default -> throw new IllegalStateException(name + ": cannot place the worker", e.getCause());
            }
        }
    }

    public boolean pollMode() {
        return poll;
    }

    public boolean onWorkerThread() {
        return Thread.currentThread() == thread;
    }

    /** Runs {@code task} on this worker and waits for it; exceptions come back to the caller. */
    public <T> T call(java.util.concurrent.Callable<T> task) {
        if (onWorkerThread()) {
            try {
                return task.call();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        CompletableFuture<T> done = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                done.complete(task.call());
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        signalWake();
        try {
            return done.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException(name + " did not answer within 10 s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public void run(Runnable task) {
        call(() -> {
            task.run();
            return null;
        });
    }

    /** Posts {@code task} without waiting (from any thread). */
    public void post(Runnable task) {
        tasks.add(task);
        signalWake();
    }

    private void signalWake() {
        try {
            wake.signal();
        } catch (LinuxException e) {
            throw new IllegalStateException(name + ": waking the worker failed", e);
        }
    }

    /** Registers {@code handler} for readability of {@code fd}; worker thread only. Returns a key for {@link #unwatch}. */
    public int watch(io.jvdpa.sys.Fd fd, Handler handler) throws LinuxException {
        int slot = handlers.indexOf(null);
        if (slot < 0) {
            slot = handlers.size();
            handlers.add(handler);
        } else {
            handlers.set(slot, handler);
        }
        epoll.add(fd, Epoll.EPOLLIN, slot);
        return slot;
    }

    public void unwatch(io.jvdpa.sys.Fd fd, int key) {
        try {
            epoll.remove(fd);
        } catch (LinuxException e) {
            LOG.debug("{}: removing fd from epoll: {}", name, e.getMessage());
        }
        handlers.set(key, null);
    }

    /** In poll mode, {@code handler} runs on every turn; worker thread only. */
    public void addPoller(Handler handler) {
        pollers.add(handler);
    }

    public void removePoller(Handler handler) {
        pollers.remove(handler);
    }

    private void loop() {
        int turn = 0;
        while (!closed) {
            int n = 0;
            try {
                if (!poll) {
                    n = epoll.wait(-1);
                } else if (++turn == EPOLL_EVERY) {
                    turn = 0;
                    n = epoll.wait(0);
                }
            } catch (LinuxException e) {
                if (closed) {
                    return;
                }
                // Its rings would never be served again: a failure of the process, not of one device.
                throw new IllegalStateException(name + ": epoll_wait failed, the worker cannot go on", e);
            }
            for (int i = 0; i < n; i++) {
                long token = epoll.token(i);
                if (token == WAKE_TOKEN) {
                    drainWake();
                } else {
                    Handler h = token < handlers.size() ? handlers.get((int) token) : null;
                    if (h != null) {
                        runGuarded(h);
                    }
                }
            }
            Runnable task;
            while ((task = tasks.poll()) != null) {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.error("{}: posted task failed", name, e); // its device's problem, never the worker's
                }
            }
            for (int i = 0; i < pollers.size(); i++) {
                runGuarded(pollers.get(i));
            }
            if (poll && n == 0) {
                Thread.onSpinWait();
            }
        }
    }

    private void drainWake() {
        try {
            wake.drain();
        } catch (LinuxException e) {
            LOG.error("{}: draining the wake-up eventfd failed", name, e);
        }
    }

    /** A handler's failure is its device's problem, never the worker's: log it and carry on. */
    private void runGuarded(Handler h) {
        try {
            h.run();
        } catch (RuntimeException e) {
            LOG.error("{}: queue handler failed", name, e);
        }
    }

    @Override
    public void close() {
        closed = true;
        signalWake();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        epoll.close();
        wake.close();
    }
}

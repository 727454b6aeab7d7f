package org.jcriu.compel;

import org.jcriu.CriuException;
import org.jcriu.sys.Sys;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The one platform thread that issues every ptrace request of an operation. The kernel accepts
 * ptrace requests only from the thread that attached (any other thread gets ESRCH), and stops are
 * reported to that thread's wait4() too, so all tracing is funnelled through here. Never a virtual
 * thread: a virtual thread may move between carriers, and the tracer identity is the carrier's.
 */
public final class Tracer implements AutoCloseable {
    @FunctionalInterface
    public interface ThrowingRunnable {
        void run() throws Exception;
    }

    private final ExecutorService executor;
    private volatile Thread thread;
    private volatile int tid;

    private Tracer() {
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = Thread.ofPlatform().name("jcriu-tracer").daemon(true).unstarted(r);
            thread = t;
            return t;
        });
        tid = call(Sys::gettid);
    }

    public static Tracer start() {
        return new Tracer();
    }

    /** Kernel thread id of the tracer thread (the TracerPid tasks show). */
    public int tid() {
        return tid;
    }

    public boolean onTracerThread() {
        return Thread.currentThread() == thread;
    }

    /** Runs {@code c} on the tracer thread and returns its result; exceptions pass through unchanged. */
    public <T> T call(Callable<T> c) {
        if (onTracerThread()) {
            try {
                return c.call();
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Exception e) {
                throw new CriuException(e.toString(), e);
            }
        }
        Future<T> f = executor.submit(c);
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CriuException("interrupted while waiting for the tracer thread", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) throw r;
            if (cause instanceof Error err) throw err;
            throw new CriuException(String.valueOf(cause), cause);
        }
    }

    public void run(ThrowingRunnable r) {
        call(() -> {
            r.run();
            return null;
        });
    }

    void checkThread() {
        if (!onTracerThread()) {
            throw new IllegalStateException("ptrace request from " + Thread.currentThread().getName()
                    + ": only the tracer thread may trace (the kernel answers ESRCH otherwise)");
        }
    }

    @Override
    public void close() {
        executor.shutdown();
    }
}

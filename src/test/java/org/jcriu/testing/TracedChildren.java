package org.jcriu.testing;

import java.util.ArrayList;
import java.util.List;

import org.jcriu.compel.Tracer;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A tracer for a test, and the processes the test spawned under it: closing kills each by PID
 * and reaps it on the tracer thread (a traced child is reported to its tracer only, so only
 * that thread can wait for it). As a JUnit extension of a test instance
 * ({@code @RegisterExtension final TracedChildren children = new TracedChildren();}) it is
 * closed after each test.
 */
public final class TracedChildren implements AutoCloseable, AfterEachCallback {
    private final Tracer tracer = Tracer.start();
    private final List<Integer> started = new ArrayList<>();

    public Tracer tracer() {
        return tracer;
    }

    /** Remembers {@code pid} for cleanup and returns it. */
    public int add(int pid) {
        started.add(pid);
        return pid;
    }

    /**
     * {@code /bin/sleep 1000}, spawned from the tracer thread so that it is that thread's child
     * to seize and reap; remembered for cleanup.
     */
    public int spawnSleep() {
        return add(tracer.call(() -> Sys.posixSpawn("/bin/sleep", List.of("sleep", "1000"), List.of(), null, false)));
    }

    @Override
    public void afterEach(ExtensionContext context) {
        close();
    }

    @Override
    public void close() {
        for (int pid : started) {
            try {
                Sys.kill(pid, Linux.SIGKILL);
            } catch (RuntimeException ignored) {
                // already gone
            }
            tracer.run(() -> {
                try {
                    Sys.waitpid(pid, Linux.__WALL);
                } catch (RuntimeException ignored) {
                    // reaped already
                }
            });
        }
        tracer.close();
    }
}

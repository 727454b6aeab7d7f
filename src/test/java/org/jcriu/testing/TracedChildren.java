package org.jcriu.testing;

import java.util.ArrayList;
import java.util.List;

import org.jcriu.compel.Tracer;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;

/**
 * A tracer for a test, and the processes the test spawned under it: closing kills each by PID
 * and reaps it on the tracer thread (a traced child is reported to its tracer only, so only
 * that thread can wait for it).
 */
public final class TracedChildren implements AutoCloseable {
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

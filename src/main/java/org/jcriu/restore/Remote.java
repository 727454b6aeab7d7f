package org.jcriu.restore;

import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Nr;

/** Injected syscalls that take a path or a struct, with their arguments placed in the gadget's scratch pages. */
final class Remote {
    private Remote() {}

    static int open(Task task, String path, int flags) {
        try (Scratch s = task.scratch(path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1)) {
            long p = s.putString(0, path);
            return (int) task.syscall(Nr.OPEN, p, flags, 0);
        } catch (ErrnoException e) {
            throw new ErrnoException(e.errno(), "task " + task.tid() + ": open(" + path + ")");
        }
    }

    static void close(Task task, int fd) {
        task.syscall(Nr.CLOSE, fd);
    }

    /** Runs {@code nr} with {@code data} copied into the task as its pointer argument at {@code argIndex}. */
    static long withBuffer(Task task, byte[] data, long nr, int argIndex, long... args) {
        try (Scratch s = task.scratch(Math.max(data.length, 1))) {
            long p = s.put(0, data);
            long[] a = args.clone();
            a[argIndex] = p;
            return task.syscall(nr, a);
        }
    }

    static long withString(Task task, String str, long nr, long... args) {
        byte[] b = str.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return withBuffer(task, java.util.Arrays.copyOf(b, b.length + 1), nr, 0, args);
    }
}

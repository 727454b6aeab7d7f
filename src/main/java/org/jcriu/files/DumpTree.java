package org.jcriu.files;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The tasks a dump covers, as the file handlers need to know them: the task given with -t and
 * every descendant (/proc/PID/task/TID/children of each thread). The dump freezes them all before
 * files are looked at, so the answer is stable; a handler asks it to tell a peer inside the dump
 * (a pty master, a socket's peer held by another task) from one outside.
 */
public final class DumpTree {
    private DumpTree() {}

    /** {@code root} and its descendants, parents first; just {@code self} when there is no root (0) or it is gone. */
    public static Set<Integer> pids(int root, int self) {
        Set<Integer> out = new LinkedHashSet<>();
        if (root <= 0 || !Files.isDirectory(Path.of("/proc", Integer.toString(root)))) {
            out.add(self);
            return out;
        }
        ArrayDeque<Integer> todo = new ArrayDeque<>();
        todo.add(root);
        while (!todo.isEmpty()) {
            int p = todo.poll();
            // jcriu itself (a self-dumping client's swrk child) is never part of the dump
            if (p == ProcessHandle.current().pid() || !out.add(p)) continue;
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc", Integer.toString(p), "task"))) {
                for (Path t : ds) {
                    try {
                        for (String c : Files.readString(t.resolve("children")).trim().split("\\s+")) {
                            if (!c.isEmpty()) todo.add(Integer.parseInt(c));
                        }
                    } catch (IOException e) {
                        // a thread that exited meanwhile
                    }
                }
            } catch (IOException e) {
                // a task that exited meanwhile
            }
        }
        out.add(self);
        return out;
    }
}

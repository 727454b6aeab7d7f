package org.jcriu.files.unix;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Sys;
import org.jcriu.sys.UnixDiag;

/**
 * What the dump knows about unix sockets: the kernel's table (sock_diag, read once per dump),
 * which socket inodes each dumped task holds (so that a peer outside the process is told from
 * one inside), and which sockets were already written.
 */
final class UnixSkTable {
    final Map<Integer, UnixDiag.Sk> diag = UnixDiag.all();
    /** connecting socket inode -> the listener it waits in (from the listeners' icons). */
    final Map<Integer, Integer> iconOf = new HashMap<>();
    private final Map<Integer, Set<Integer>> held = new HashMap<>();
    /** External peers already given an entry: inode -> file id. */
    final Map<Integer, Integer> externals = new HashMap<>();

    UnixSkTable() {
        for (UnixDiag.Sk sk : diag.values()) for (int c : sk.icons()) iconOf.put(c, sk.ino());
    }

    private Set<Integer> inTree;

    /**
     * Socket inodes held by the tasks of the dump: {@code pid} and every task of the tree under
     * the dump's root {@code root} (-t; its descendants are frozen with it, so the set is stable).
     * A peer held there is inside the dump even when its task is dumped later.
     */
    Set<Integer> heldInDump(int pid, int root) {
        if (inTree == null) {
            inTree = new HashSet<>();
            for (int p : org.jcriu.files.DumpTree.pids(root, pid)) inTree.addAll(heldBy(p));
        }
        Set<Integer> all = new HashSet<>(inTree);
        all.addAll(heldBy(pid));
        return all;
    }

    /** Socket inodes among the fds of {@code pid}. */
    Set<Integer> heldBy(int pid) {
        return held.computeIfAbsent(pid, p -> {
            Set<Integer> s = new HashSet<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc", Integer.toString(p), "fd"))) {
                for (Path f : ds) {
                    try {
                        String l = Sys.readlink(f.toString());
                        if (l.startsWith("socket:[")) s.add((int) Long.parseLong(l.substring(8, l.length() - 1)));
                    } catch (ErrnoException e) {
                        // closed meanwhile: the task is stopped, so only a racing fd of ours
                    }
                }
            } catch (IOException e) {
                throw new org.jcriu.CriuException("Can't list /proc/" + p + "/fd: " + e.getMessage());
            }
            return s;
        });
    }
}

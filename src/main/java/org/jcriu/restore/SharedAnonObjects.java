package org.jcriu.restore;

import java.util.HashMap;
import java.util.Map;

/**
 * The shared anonymous objects one restore has created so far, by vma_entry.shmid: a task of the
 * tree that maps an object an earlier task already created opens it through that task's
 * /proc/PID/map_files link instead of creating a second object, so a parent and child that shared
 * memory before the dump share it after the restore (the earlier task is not running yet, so its
 * mapping is still where it was put).
 */
final class SharedAnonObjects {
    /** Where an object can be reached: a VMA of task {@code pid} that maps it, and the object's size. */
    record Mapped(int pid, long start, long end, long size) {}

    private final Map<Long, Mapped> byShmid = new HashMap<>();

    synchronized Mapped get(long shmid) {
        return byShmid.get(shmid);
    }

    synchronized void put(long shmid, Mapped m) {
        byShmid.putIfAbsent(shmid, m);
    }

    synchronized void grown(long shmid, long size) {
        Mapped m = byShmid.get(shmid);
        if (m != null && size > m.size()) byShmid.put(shmid, new Mapped(m.pid(), m.start(), m.end(), size));
    }
}

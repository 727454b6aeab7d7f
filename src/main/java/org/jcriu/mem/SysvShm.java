package org.jcriu.mem;

import java.util.HashMap;
import java.util.Map;

import org.jcriu.sys.Sys;

/**
 * The SysV shared memory segments of jcriu's IPC namespace, from /proc/sysvipc/shm. A task's
 * attachment is dumped by reference only (the segment stays in the kernel, restore attaches it
 * again with shmat), so a dump has to know the segment is still there and how large it is: a
 * segment removed with IPC_RMID is taken out of this table at once, and is destroyed with the
 * last detach, which is the dumped task's death.
 */
public final class SysvShm {
    /** One segment: its id (the inode number /proc/PID/maps shows for its mappings) and size in bytes. */
    public record Segment(int shmid, long size, int nattch) {}

    private SysvShm() {}

    public static Map<Integer, Segment> read() {
        Map<Integer, Segment> out = new HashMap<>();
        String[] lines = Sys.readString("/proc/sysvipc/shm").split("\n");
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].trim().split("\\s+");
            if (f.length < 7) continue;
            // key shmid perms size cpid lpid nattch ...
            int id = Integer.parseInt(f[1]);
            out.put(id, new Segment(id, Long.parseLong(f[3]), Integer.parseInt(f[6])));
        }
        return out;
    }
}

package org.jcriu.mem;

import java.util.HashMap;
import java.util.Map;

import org.jcriu.sys.Sys;

/**
 * The SysV shared memory segments of jcriu's IPC namespace, from /proc/sysvipc/shm. A task's
 * attachment is dumped by reference only (the segment stays in the kernel, restore attaches it
 * again with shmat), so a dump has to know the segment will still be there and how large it is:
 * a segment removed with IPC_RMID while attached stays listed, its mode marked SHM_DEST, until
 * the last detach destroys it, which would be the dumped task's death.
 */
public final class SysvShm {
    private static final int SHM_DEST = 01000;

    /** One segment: its id (the inode number /proc/PID/maps shows for its mappings), size in bytes, and whether it was removed. */
    public record Segment(int shmid, long size, int nattch, boolean removed) {}

    private SysvShm() {}

    public static Map<Integer, Segment> read() {
        Map<Integer, Segment> out = new HashMap<>();
        String[] lines = Sys.readString("/proc/sysvipc/shm").split("\n");
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].trim().split("\\s+");
            if (f.length < 7) continue;
            // key shmid perms size cpid lpid nattch ...
            int id = Integer.parseInt(f[1]);
            int mode = Integer.parseInt(f[2], 8);
            out.put(id, new Segment(id, Long.parseLong(f[3]), Integer.parseInt(f[6]), (mode & SHM_DEST) != 0));
        }
        return out;
    }
}

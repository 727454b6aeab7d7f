package org.jcriu.dump;

import java.util.ArrayList;
import java.util.List;

import org.jcriu.image.proto.TaskKobjIdsEntry;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * ids-PID.img: the ids of a task's kernel objects (mm, fd table, fs, signal handlers). Tasks that
 * share an object (clone without CLONE_THREAD but with CLONE_FILES, ...) share its id, found with
 * kcmp(2) as criu's kcmp-ids.c does. Each kind is numbered on its own, 1 being jcriu's own (the
 * inventory's root_ids), so the first task gets 2 of each, as with criu.
 */
final class KobjIds {
    private static final int KCMP_VM = 1, KCMP_FS = 3, KCMP_SIGHAND = 4;
    /** files_id is the file table's business (DumpFiles.dumpTask), which dumps a shared table once. */
    private static final int[] KINDS = {KCMP_VM, KCMP_FS, KCMP_SIGHAND};

    /** Per kind: {pid, id} of each distinct object seen so far. */
    @SuppressWarnings("unchecked")
    private final List<int[]>[] seen = new List[] {new ArrayList<>(), new ArrayList<>(), new ArrayList<>()};
    private final int[] next = {Images.TASK_OBJ_ID, Images.TASK_OBJ_ID, Images.TASK_OBJ_ID};

    /** The ids of {@code pid}'s objects, given in tree order (files_id left to the file table). */
    TaskKobjIdsEntry assign(int pid) {
        int[] id = new int[KINDS.length];
        for (int k = 0; k < KINDS.length; k++) {
            id[k] = -1;
            for (int[] e : seen[k]) {
                if (same(e[0], pid, KINDS[k])) {
                    id[k] = e[1];
                    break;
                }
            }
            if (id[k] < 0) {
                id[k] = next[k]++;
                seen[k].add(new int[] {pid, id[k]});
            }
        }
        return Images.ids(Images.TASK_OBJ_ID).toBuilder().setVmId(id[0]).setFsId(id[1]).setSighandId(id[2]).build();
    }

    private static boolean same(int pid1, int pid2, int type) {
        long r = Sys.raw(Nr.KCMP, pid1, pid2, type, 0, 0);
        if (r < 0) throw new ErrnoException((int) -r, "kcmp(" + pid1 + ", " + pid2 + ", " + type + ")");
        return r == 0;
    }
}

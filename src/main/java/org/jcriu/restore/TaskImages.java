package org.jcriu.restore;

import java.util.List;
import java.util.Map;

import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.FdinfoEntry;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.FsEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.image.proto.TaskKobjIdsEntry;
import org.jcriu.mem.PageRun;

/**
 * Everything the images say about one task, read and checked before any process is touched, so
 * that a bad image fails the restore while nothing exists yet. {@code files} maps file ids of
 * files.img to their entries (mapped files, exe, cwd and root refer to them). {@code threads}
 * holds core-TID.img of every thread but the main one, in pstree.img's order. A zombie has only
 * its pstree entry and core image (comm, exit code): the other parts are empty or null.
 */
public record TaskImages(
        PstreeEntry pstree,
        CoreEntry core,
        Map<Integer, CoreEntry> threads,
        TaskKobjIdsEntry ids,
        MmEntry mm,
        List<Vma> vmas,
        int pagesId,
        List<PageRun> pages,
        FsEntry fs,
        List<FdinfoEntry> fds,
        Map<Integer, FileEntry> files,
        Map<Long, SharedAnon> shmem) {

    /**
     * The pages of one shared memory object (vma_entry.shmid of ANON_SHARED VMAs, or the inode's
     * shmid of a memfd that VMA_AREA_MEMFD VMAs map), from pagemap-shmem-SHMID.img: run addresses
     * are offsets in the object, data in pages-ID.img. {@code memfd}: the memfd.img entry of an
     * object dumped as a memfd (CRIU 4.2's way for shared hugetlb and shared anonymous memory), else null.
     */
    public record SharedAnon(long shmid, int pagesId, List<PageRun> runs, org.jcriu.image.proto.MemfdInodeEntry memfd) {
        public SharedAnon(long shmid, int pagesId, List<PageRun> runs) {
            this(shmid, pagesId, runs, null);
        }
    }

    public int pid() {
        return pstree.getPid();
    }

    /** A task that had exited but was not yet waited for (task_state 2). */
    public boolean zombie() {
        return core.getTc().getTaskState() == ImageLoader.TASK_DEAD;
    }

    public String comm() {
        return core.getTc().getComm();
    }
}

package org.jcriu.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jcriu.CriuException;
import org.jcriu.files.FileHandlers;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.FdinfoEntry;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.MemfdInodeEntry;
import org.jcriu.image.proto.FsEntry;
import org.jcriu.image.proto.InventoryEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.image.proto.TaskKobjIdsEntry;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.mem.PageRun;

/**
 * Reads the images of a dump into {@link TaskImages} and checks that they hang together (VMAs
 * sorted and disjoint, every dumped page inside a VMA, pages-N.img long enough) before anything
 * is created, so that a damaged dump fails with the file and offset at fault and nothing to undo.
 */
public final class ImageLoader {
    private static final Logger LOG = Log.get("restore");
    /** task_core_entry.task_state as CRIU writes it (compel's task-state.h). */
    static final int TASK_ALIVE = 1, TASK_DEAD = 2, TASK_STOPPED = 3;
    /** What jcriu's own dumper wrote for a stopped task before it followed CRIU's value. */
    static final int JCRIU_OLD_STOPPED = 6;

    private final ImageDir dir;

    public ImageLoader(ImageDir dir) {
        this.dir = dir;
    }

    /** The root task of the dump (the first of {@link #loadTree}). */
    public TaskImages load() {
        return loadTree().root();
    }

    /**
     * Every task of pstree.img with its images, checked: the tree is well formed (a parent
     * before its children, no PID or TID twice), every live task's images hang together, and
     * zombies (task_state 2) have their core image. Fails for what this restorer does not
     * handle yet.
     */
    public TreeImages loadTree() {
        Path d = dir.dir();
        if (!Files.isDirectory(d)) {
            throw new CriuException("Images directory " + d + " does not exist");
        }
        if (!dir.exists(ImageType.INVENTORY)) {
            throw new CriuException("No " + ImageType.INVENTORY.fileName() + " in " + d + ": not a dump directory (or empty)");
        }
        checkInventory();
        List<PstreeEntry> tree = readAll(ImageType.PSTREE, PstreeEntry.parser());
        if (tree.isEmpty()) {
            throw new CriuException(dir.path(ImageType.PSTREE) + ": no task in the process tree");
        }
        checkTree(tree);
        Map<Integer, FileEntry> files = new HashMap<>();
        for (FileEntry f : readAll(ImageType.FILES, FileEntry.parser())) files.put(f.getId(), f);
        List<TaskImages> out = new ArrayList<>();
        for (PstreeEntry e : tree) out.add(loadTask(e, files, e == tree.get(0)));
        return new TreeImages(out);
    }

    /**
     * pstree.img lists a parent before its children (CRIU writes it walking the tree from the
     * root), every PID and TID once, and the root alone has no parent in the dump.
     */
    private void checkTree(List<PstreeEntry> tree) {
        String f = dir.path(ImageType.PSTREE).toString();
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < tree.size(); i++) {
            PstreeEntry e = tree.get(i);
            if (e.getPid() <= 0) throw new CriuException(f + ": entry " + i + " has a bad pid " + e.getPid());
            if (!seen.add(e.getPid())) throw new CriuException(f + ": pid " + e.getPid() + " is listed twice");
            if (i == 0) {
                if (e.getPpid() != 0 && pidIn(tree, e.getPpid())) {
                    throw new CriuException(f + ": the root task " + e.getPid() + " has a parent in the dump");
                }
            } else if (!pidIn(tree.subList(0, i), e.getPpid())) {
                throw new CriuException(f + ": task " + e.getPid() + " has parent " + e.getPpid()
                        + ", which is not listed before it in the tree");
            }
        }
        for (PstreeEntry e : tree) {
            for (int i = 1; i < e.getThreadsCount(); i++) {
                int tid = e.getThreads(i);
                if (tid > 0 && tid != e.getPid() && !seen.add(tid)) {
                    throw new CriuException(f + ": thread id " + tid + " of task " + e.getPid() + " is used twice in the tree");
                }
            }
        }
    }

    private static boolean pidIn(List<PstreeEntry> tree, int pid) {
        for (PstreeEntry e : tree) if (e.getPid() == pid) return true;
        return false;
    }

    private TaskImages loadTask(PstreeEntry entry, Map<Integer, FileEntry> files, boolean isRoot) {
        int pid = entry.getPid();
        CoreEntry core = readOne(ImageType.CORE, CoreEntry.parser(), pid);
        if (core.hasTc() && core.getTc().getTaskState() == TASK_DEAD) {
            if (isRoot) {
                throw new CriuException(dir.path(ImageType.CORE, pid) + ": the root task " + pid + " is a zombie");
            }
            // CRIU writes only core-PID.img for a zombie (its threads list is [0]): comm and exit code
            LOG.forPid(pid).info("task %d (%s): zombie, exit code 0x%x", pid, core.getTc().getComm(), core.getTc().getExitCode());
            return new TaskImages(entry, core, Map.of(), null, null, List.of(), 0, List.of(), null, List.of(), files, Map.of());
        }
        checkCore(core, pid);
        Map<Integer, CoreEntry> threads = threads(entry);
        if (core.getTc().hasTimers()) {
            for (var t : core.getTc().getTimers().getPosixList()) {
                boolean toThread = (t.getItSigevNotify() & PosixTimerRestorer.SIGEV_THREAD_ID) != 0;
                if (toThread && t.getNotifyThreadId() != pid && !threads.containsKey(t.getNotifyThreadId())) {
                    throw new CriuException(dir.path(ImageType.CORE, pid) + ": POSIX timer " + t.getItId() + " notifies thread "
                            + t.getNotifyThreadId() + ", which is not a thread of task " + pid);
                }
            }
        }
        TaskKobjIdsEntry ids = dir.exists(ImageType.IDS, pid) ? readOne(ImageType.IDS, TaskKobjIdsEntry.parser(), pid)
                : core.hasIds() ? core.getIds() : null;
        if (ids == null) {
            throw new CriuException("No " + ImageType.IDS.fileName(pid) + " and no ids in " + ImageType.CORE.fileName(pid));
        }
        MmEntry mm = readOne(ImageType.MM, MmEntry.parser(), pid);
        List<Vma> vmas = vmas(mm, pid);
        int[] pagesId = new int[1];
        List<PageRun> pages = pagemap(pid, pagesId);
        checkPages(pid, vmas, pages, pagesId[0]);
        FsEntry fs = readOne(ImageType.FS, FsEntry.parser(), pid);
        List<FdinfoEntry> fds = dir.exists(ImageType.FDINFO, ids.getFilesId())
                ? readAll(ImageType.FDINFO, FdinfoEntry.parser(), ids.getFilesId()) : List.of();
        checkFileRefs(mm, vmas, fs, files, pid);
        checkFdKinds(fds, files, ids.getFilesId());
        Map<Long, TaskImages.SharedAnon> shmem = sharedAnon(vmas);
        shmem.putAll(memfdObjects(vmas, files, pid));
        LOG.forPid(pid).info("task %d (%s): %d VMAs, %d page runs from pages-%d.img, %d fds", pid, core.getTc().getComm(), vmas.size(),
                pages.size(), pagesId[0], fds.size());
        return new TaskImages(entry, core, threads, ids, mm, vmas, pagesId[0], pages, fs, fds, files, shmem);
    }

    static boolean isStopped(int taskState) {
        return taskState == TASK_STOPPED || taskState == JCRIU_OLD_STOPPED;
    }

    private void checkInventory() {
        InventoryEntry inv = readOne(ImageType.INVENTORY, InventoryEntry.parser());
        if (inv.getImgVersion() != 2) {
            throw new CriuException(dir.path(ImageType.INVENTORY) + ": not supported images version " + inv.getImgVersion());
        }
        if (!inv.getFdinfoPerId()) {
            throw new CriuException(dir.path(ImageType.INVENTORY) + ": too old image, no longer supported (no fdinfo_per_id)");
        }
    }

    /** core-TID.img of every thread but the main one, in pstree.img's order. */
    private Map<Integer, CoreEntry> threads(PstreeEntry root) {
        int pid = root.getPid();
        if (root.getThreadsCount() > 0 && root.getThreads(0) != pid) {
            throw new CriuException(dir.path(ImageType.PSTREE) + ": task " + pid + " lists thread " + root.getThreads(0)
                    + " first, not its main thread");
        }
        Map<Integer, CoreEntry> out = new java.util.LinkedHashMap<>();
        for (int i = 1; i < root.getThreadsCount(); i++) {
            int tid = root.getThreads(i);
            if (tid <= 0 || tid == pid || out.containsKey(tid)) {
                throw new CriuException(dir.path(ImageType.PSTREE) + ": task " + pid + " lists a bad thread id " + tid);
            }
            CoreEntry c = readOne(ImageType.CORE, CoreEntry.parser(), tid);
            checkThreadCore(c, tid);
            out.put(tid, c);
        }
        return out;
    }

    private void checkThreadCore(CoreEntry core, int tid) {
        String f = dir.path(ImageType.CORE, tid).toString();
        if (core.getMtype() != CoreEntry.March.X86_64 || !core.hasThreadInfo() || !core.hasThreadCore()) {
            throw new CriuException(f + ": thread " + tid + " has no x86_64 thread_info/thread_core");
        }
        if (core.getThreadInfo().getGpregs().getMode() != org.jcriu.image.proto.UserX86RegsMode.NATIVE) {
            throw new CriuException(f + ": thread " + tid + " is a 32-bit (compat) thread: not supported");
        }
    }

    private void checkCore(CoreEntry core, int pid) {
        String f = dir.path(ImageType.CORE, pid).toString();
        if (core.getMtype() != CoreEntry.March.X86_64 || !core.hasThreadInfo()) {
            throw new CriuException(f + ": task " + pid + " was dumped on " + core.getMtype() + ", this restorer handles x86_64 only");
        }
        if (!core.hasTc()) {
            throw new CriuException(f + ": no task_core_entry");
        }
        int state = core.getTc().getTaskState();
        if (state != TASK_ALIVE && !isStopped(state)) {
            throw new CriuException(f + ": task " + pid + " is in state " + state + " (zombie or dead): not supported yet");
        }
        var th = core.getThreadCore();
        // seccomp_mode/seccomp_filter of thread_core are checked by SeccompRestorer; images older
        // than CRIU 3.x kept them in task_core_entry
        if (core.getTc().hasOldSeccompMode() && core.getTc().getOldSeccompMode() != org.jcriu.image.proto.SeccompMode.disabled) {
            throw new CriuException(f + ": task " + pid + " has seccomp state in the old task_core_entry fields: not supported");
        }
        if (core.getTc().hasTimers()) {
            for (var t : core.getTc().getTimers().getPosixList()) {
                int n = t.getItSigevNotify() & ~PosixTimerRestorer.SIGEV_THREAD_ID;
                if (n != 0 && n != 1 && n != 2) {
                    throw new CriuException(f + ": POSIX timer " + t.getItId() + " of task " + pid + " has an unknown sigev_notify "
                            + t.getItSigevNotify());
                }
            }
        }
        if (core.getThreadInfo().getGpregs().getMode() != org.jcriu.image.proto.UserX86RegsMode.NATIVE) {
            throw new CriuException(f + ": task " + pid + " is a 32-bit (compat) task: not supported");
        }
    }

    private List<Vma> vmas(MmEntry mm, int pid) {
        String f = dir.path(ImageType.MM, pid).toString();
        List<Vma> out = new ArrayList<>();
        long prevEnd = 0;
        for (VmaEntry e : mm.getVmasList()) {
            Vma v = Vma.of(e);
            if (v.is(Vma.GUARD)) continue; // MADV_GUARD_INSTALL ranges, not real VMAs
            if ((v.start() & 0xfff) != 0 || (v.end() & 0xfff) != 0 || Long.compareUnsigned(v.end(), v.start()) <= 0) {
                throw new CriuException(String.format("%s: bad %s (unaligned or empty)", f, v));
            }
            if (Long.compareUnsigned(v.start(), prevEnd) < 0) {
                throw new CriuException(String.format("%s: %s overlaps or is out of order with the previous VMA", f, v));
            }
            if (v.is(Vma.UNSUPP)) {
                throw new CriuException(String.format("%s: %s is of an unsupported kind", f, v));
            }
            prevEnd = v.end();
            out.add(v);
        }
        if (out.isEmpty()) {
            throw new CriuException(f + ": task " + pid + " has no VMAs");
        }
        return out;
    }

    /** Shared anonymous objects and their pages; an object without a pagemap-shmem image has none. */
    private Map<Long, TaskImages.SharedAnon> sharedAnon(List<Vma> vmas) {
        Map<Long, TaskImages.SharedAnon> out = new java.util.TreeMap<>();
        for (Vma v : vmas) {
            if (!v.is(Vma.ANON_SHARED) || v.is(Vma.SYSVIPC) || out.containsKey(v.shmid())) continue;
            List<PageRun> runs = List.of();
            int[] id = new int[1];
            if (dir.exists(ImageType.SHMEM_PAGEMAP, v.shmid())) {
                runs = pagemap(ImageType.SHMEM_PAGEMAP, v.shmid(), id);
                long extent = 0;
                for (Vma o : vmas) if (o.shmid() == v.shmid() && o.is(Vma.ANON_SHARED)) extent = Math.max(extent, o.pgoff() + o.size());
                for (PageRun r : runs) {
                    if (Long.compareUnsigned(r.end(), extent) > 0) {
                        throw new CriuException(String.format("%s: pages at offset 0x%x lie beyond the %d bytes its VMAs map",
                                dir.path(ImageType.SHMEM_PAGEMAP, v.shmid()), r.vaddr(), extent));
                    }
                }
                checkPagesFile(runs, id[0], dir.path(ImageType.SHMEM_PAGEMAP, v.shmid()).getFileName().toString());
            }
            out.put(v.shmid(), new TaskImages.SharedAnon(v.shmid(), id[0], runs));
        }
        return out;
    }

    /** memfd.img by inode_id, read once per restore (null until a mapping needs it). */
    private Map<Long, MemfdInodeEntry> memfdInodes;

    /**
     * Objects that VMA_AREA_MEMFD VMAs map (CRIU 4.2 dumps shared hugetlb and shared anonymous
     * memory so): their MEMFD file entry, memfd.img inode and pagemap-shmem-SHMID.img, keyed by
     * the inode's shmid as ANON_SHARED objects are by theirs.
     */
    private Map<Long, TaskImages.SharedAnon> memfdObjects(List<Vma> vmas, Map<Integer, FileEntry> files, int pid) {
        Map<Long, TaskImages.SharedAnon> out = new java.util.TreeMap<>();
        for (Vma v : vmas) {
            if (!v.is(Vma.MEMFD)) continue;
            FileEntry f = files.get((int) v.shmid());
            if (f == null || !f.hasMemfd()) {
                throw new CriuException(String.format("%s: %s maps memfd file id %d, which files.img does not describe as a memfd",
                        dir.path(ImageType.MM, pid), v, v.shmid()));
            }
            if (memfdInodes == null) {
                memfdInodes = new HashMap<>();
                if (dir.exists(ImageType.MEMFD_INODE)) {
                    for (MemfdInodeEntry m : readAll(ImageType.MEMFD_INODE, MemfdInodeEntry.parser())) memfdInodes.put(m.getInodeId(), m);
                }
            }
            MemfdInodeEntry mie = memfdInodes.get((long) f.getMemfd().getInodeId());
            if (mie == null) {
                throw new CriuException(String.format("%s: memfd file id %d names inode %d, which %s does not have",
                        dir.path(ImageType.FILES), v.shmid(), f.getMemfd().getInodeId(), dir.path(ImageType.MEMFD_INODE).getFileName()));
            }
            long shmid = mie.getShmid() & 0xffffffffL;
            if (out.containsKey(shmid)) continue;
            List<PageRun> runs = List.of();
            int[] id = new int[1];
            if (dir.exists(ImageType.SHMEM_PAGEMAP, shmid)) {
                runs = pagemap(ImageType.SHMEM_PAGEMAP, shmid, id);
                long size = (mie.getSize() + PageRun.PAGE_SIZE - 1) / PageRun.PAGE_SIZE * PageRun.PAGE_SIZE;
                for (PageRun r : runs) {
                    if (Long.compareUnsigned(r.end(), size) > 0) {
                        throw new CriuException(String.format("%s: pages at offset 0x%x lie beyond the memfd's %d bytes",
                                dir.path(ImageType.SHMEM_PAGEMAP, shmid), r.vaddr(), mie.getSize()));
                    }
                }
                checkPagesFile(runs, id[0], dir.path(ImageType.SHMEM_PAGEMAP, shmid).getFileName().toString());
            }
            out.put(shmid, new TaskImages.SharedAnon(shmid, id[0], runs, mie));
        }
        return out;
    }

    /** A task's pages, through its chain of parent images when the dump was incremental. */
    private List<PageRun> pagemap(int pid, int[] pagesId) {
        org.jcriu.mem.PageChain chain = org.jcriu.mem.PageChain.load(dir, ImageType.PAGEMAP, pid);
        pagesId[0] = chain.pagesId();
        return chain.runs();
    }

    private List<PageRun> pagemap(ImageType type, Object nameArg, int[] pagesId) {
        List<PageRun> runs = new ArrayList<>();
        try (ImageReader r = dir.open(type, nameArg)) {
            PagemapHead head = r.readOne(PagemapHead.parser());
            pagesId[0] = head.getPagesId();
            long offset = 0;
            PagemapEntry e;
            long at = r.offset();
            while ((e = r.read(PagemapEntry.parser())) != null) {
                long n = e.hasNrPages() ? e.getNrPages() : e.getCompatNrPages();
                int flags = e.getInParent() ? PageRun.PE_PARENT : e.hasFlags() ? e.getFlags() : PageRun.PE_PRESENT;
                if ((flags & PageRun.PE_PARENT) != 0) {
                    throw new CriuException(String.format("%s at byte %d: pages of 0x%x are in a parent image, which jcriu reads only for task memory, not shared memory objects",
                            dir.path(type, nameArg), at, e.getVaddr()));
                }
                if ((e.getVaddr() & 0xfff) != 0 || n <= 0) {
                    throw new CriuException(String.format("%s at byte %d: bad pagemap entry 0x%x x %d pages",
                            dir.path(type, nameArg), at, e.getVaddr(), n));
                }
                if ((flags & PageRun.PE_PRESENT) != 0) {
                    runs.add(new PageRun(e.getVaddr(), n, flags, offset));
                    offset += n * PageRun.PAGE_SIZE;
                }
                at = r.offset();
            }
        }
        return runs;
    }

    private void checkPages(int pid, List<Vma> vmas, List<PageRun> runs, int pagesId) {
        int vi = 0;
        for (PageRun run : runs) {
            for (long a = run.vaddr(); a < run.end(); ) {
                while (vi < vmas.size() && Long.compareUnsigned(vmas.get(vi).end(), a) <= 0) vi++;
                if (vi == vmas.size() || !vmas.get(vi).contains(a)) {
                    // runs are sorted by address in CRIU's pagemap; search again for a stray one
                    vi = 0;
                    while (vi < vmas.size() && !vmas.get(vi).contains(a)) vi++;
                    if (vi == vmas.size()) {
                        throw new CriuException(String.format("%s: page 0x%x (pages-%d.img offset %d) is outside every VMA of %s",
                                dir.path(ImageType.PAGEMAP, pid), a, pagesId, run.sourceOffset() + (a - run.vaddr()),
                                dir.path(ImageType.MM, pid).getFileName()));
                    }
                }
                a = Math.min(run.end(), vmas.get(vi).end());
            }
        }
        checkPagesFile(runs, pagesId, dir.path(ImageType.PAGEMAP, pid).getFileName().toString());
    }

    private void checkPagesFile(List<PageRun> runs, int pagesId, String pagemap) {
        long need = 0;
        for (PageRun run : runs) {
            // pages of parent images were checked by PageChain against their own files
            if (org.jcriu.mem.PageChain.layer(run.sourceOffset()) == 0) need = Math.max(need, run.sourceOffset() + run.bytes());
        }
        Path pages = dir.path(ImageType.PAGES, pagesId);
        long have;
        try {
            have = Files.size(pages);
        } catch (IOException e) {
            if (need == 0) return;
            throw new CriuException("Can't open " + pages + ": " + CriuException.reason(e));
        }
        if (have < need) {
            throw new CriuException(String.format("%s is truncated at offset %d: %s lists %d bytes of pages", pages, have, pagemap, need));
        }
        if (have > need) {
            LOG.warn("%s has %d bytes after the last page in %s", pages, have - need, pagemap);
        }
    }

    private void checkFileRefs(MmEntry mm, List<Vma> vmas, FsEntry fs, Map<Integer, FileEntry> files, int pid) {
        for (Vma v : vmas) {
            if (v.fileBacked() && !v.is(Vma.MEMFD) && !hasReg(files, (int) v.shmid())) {
                throw new CriuException(String.format("%s: %s maps file id %d, which files.img does not describe",
                        dir.path(ImageType.MM, pid), v, v.shmid()));
            }
        }
        if (mm.getExeFileId() != 0 && !hasReg(files, mm.getExeFileId())) {
            throw new CriuException(dir.path(ImageType.MM, pid) + ": exe file id " + mm.getExeFileId() + " is not in files.img");
        }
        for (int id : new int[] {fs.getCwdId(), fs.getRootId()}) {
            if (!hasReg(files, id)) {
                throw new CriuException(dir.path(ImageType.FS, pid) + ": file id " + id + " (cwd/root) is not in files.img");
            }
        }
    }

    /** Every fd must be of a kind jcriu can reopen: found now, nothing has to be undone. */
    private void checkFdKinds(List<FdinfoEntry> fds, Map<Integer, FileEntry> files, int filesId) {
        for (FdinfoEntry fd : fds) {
            FileEntry f = files.get(fd.getId());
            if (f == null) {
                throw new CriuException(String.format("%s: fd %d refers to file id %d, which files.img does not describe",
                        dir.path(ImageType.FDINFO, filesId), fd.getFd(), fd.getId()));
            }
            try {
                FileHandlers.byType(f.getType());
            } catch (CriuException e) {
                throw new CriuException(String.format("fd %d of the dump (%s, file id %d in %s) is of a kind jcriu cannot restore yet: %s",
                        fd.getFd(), f.getType(), f.getId(), dir.path(ImageType.FDINFO, filesId).getFileName(), e.getMessage()));
            }
        }
    }

    private static boolean hasReg(Map<Integer, FileEntry> files, int id) {
        FileEntry f = files.get(id);
        return f != null && f.hasReg();
    }

    private <T> T readOne(ImageType t, com.google.protobuf.Parser<T> p, Object... args) {
        try (ImageReader r = dir.open(t, args)) {
            return r.readOne(p);
        }
    }

    private <T> List<T> readAll(ImageType t, com.google.protobuf.Parser<T> p, Object... args) {
        List<T> out = new ArrayList<>();
        try (ImageReader r = dir.open(t, args)) {
            T m;
            while ((m = r.read(p)) != null) out.add(m);
        }
        return out;
    }
}

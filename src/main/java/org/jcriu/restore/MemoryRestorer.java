package org.jcriu.restore;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.compel.Task;
import org.jcriu.files.FileRestorer;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.MemfdInodeEntry;
import org.jcriu.image.proto.RegFileEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.mem.LocalPageSource;
import org.jcriu.mem.PageRun;
import org.jcriu.mem.PageSource;
import org.jcriu.mem.PageWriter;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Replaces the address space a task was cloned with by the dumped one: every mapping it came
 * with goes (but the gadget, the kernel's vDSO/vvar, which are moved to their dumped addresses,
 * and for a child what {@link InheritedMemory} keeps of its restored parent's), every other
 * dumped VMA is mapped at its address with its protection and flags, the dumped pages are
 * written in from worker threads (in kept VMAs only those that differ from the parent's), and
 * protections that had to be widened for the writes are put back.
 */
final class MemoryRestorer {
    private static final Logger LOG = Log.get("mem");
    /** Bytes kept for parking the vDSO and vvar while the seed's layout is torn down. */
    static final long PARK_SIZE = 1L << 20;
    private static final int MAP_LOCKED = 0x2000, MAP_DROPPABLE = 0x08, MAP_HUGETLB = 0x40000, MAP_HUGE_MASK = 0x3f << 26;
    /**
     * Flags a VMA is mapped with as they are. MAP_LOCKED is not among them: locking is applied by
     * mlock once the pages are in (a locked mapping would be populated twice over).
     */
    private static final int MAP_FLAGS_KEPT = Linux.MAP_SHARED | Linux.MAP_PRIVATE | MAP_DROPPABLE | Linux.MAP_ANONYMOUS
            | Linux.MAP_GROWSDOWN | Linux.MAP_NORESERVE | MAP_HUGETLB | MAP_HUGE_MASK;
    private static final int SHM_RDONLY = 010000, SHM_EXEC = 0100000;
    private static final int MADV_GUARD_INSTALL = 102, MADV_DONTNEED = 4, EIDRM = 43;
    private static final int MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_HUGETLB = 4, F_ADD_SEALS = 1033, F_SEAL_SEAL = 1,
            F_SEAL_WRITE = 8, F_SEAL_FUTURE_WRITE = 0x10;

    private final Task task;
    private final TaskImages img;
    private final ImageDir dir;
    private final PageSource pages;
    private final FileRestorer files;
    private final Path root;
    private final long gadget;
    private final long park;
    private SharedAnonObjects shared;
    /** For a child cloned inside its restored parent: what it keeps of the parent's memory; null otherwise. */
    private InheritedMemory inherited;
    private boolean[] kept;
    /** Protection each VMA is mapped with at first: write added where pages must be written. */
    private final int[] firstProt;

    MemoryRestorer(Task task, TaskImages img, ImageDir dir, PageSource pages, FileRestorer files, Path root, long gadget,
            long park) {
        this.task = task;
        this.files = files;
        this.img = img;
        this.dir = dir;
        this.pages = pages;
        this.root = root;
        this.gadget = gadget;
        this.park = park;
        this.firstProt = new int[img.vmas().size()];
        this.kept = new boolean[img.vmas().size()];
    }

    /**
     * The task was cloned inside {@code parent} after the parent's memory was restored: keep what
     * matches (see {@link InheritedMemory}). Must come before {@link #clearSeed}.
     */
    void inheritFrom(TaskImages parent, PageSource parentPages) {
        this.inherited = new InheritedMemory(parent, parentPages, img);
        this.kept = inherited.kept();
    }

    /** The exe link the task came with is already the dumped one (PR_SET_MM_MAP must not replace it: EBUSY while mapped). */
    boolean keepsExe() {
        return inherited != null && inherited.sameExe();
    }

    /** Areas the restorer needs: the seed's gadget, the task's gadget, the vDSO parking lot. */
    static long areaSize() {
        return 2L * Task.GADGET_SIZE + PARK_SIZE;
    }

    /**
     * Steps before the dumped VMAs can be mapped: only the gadget, the vDSO and (for a child) the
     * inherited VMAs it keeps remain. A child already has the gadget at its place: its parent's.
     */
    void clearSeed() {
        if (task.gadget() != gadget) task.mapGadget(gadget);
        RestartBlock.reset(task, gadget);
        List<MapsLine> maps = MapsLine.of(task.tid());
        List<MapsLine> special = new ArrayList<>();
        List<long[]> keep = new ArrayList<>();
        keep.add(new long[] {gadget, gadget + Task.GADGET_SIZE});
        if (inherited != null) keep.addAll(inherited.keptRanges());
        long lo = Long.MAX_VALUE, hi = 0;
        for (MapsLine m : maps) {
            if (m.path().equals("[vsyscall]")) continue; // above the user address space: munmap refuses it
            if (isSpecial(m)) {
                special.add(m);
                keep.add(new long[] {m.start(), m.end()});
            }
            lo = Math.min(lo, m.start());
            hi = Math.max(hi, m.end());
        }
        // everything between the ranges kept goes: munmap over holes is harmless, so one call per gap
        long at = lo;
        for (long[] k : InheritedMemory.merge(keep)) {
            if (k[0] > at && at < hi) unmap(at, Math.min(k[0], hi));
            at = Math.max(at, k[1]);
        }
        if (at < hi) unmap(at, hi);
        if (inherited != null) {
            LOG.info("task %d keeps %d of %d VMAs inherited from task %d", img.pid(), inherited.keptCount(), img.vmas().size(),
                    inherited.parent().pid());
        }
        moveVdso(special);
    }

    private static boolean isSpecial(MapsLine m) {
        return m.path().equals("[vdso]") || m.path().startsWith("[vvar");
    }

    private void unmap(long start, long end) {
        task.syscall(Nr.MUNMAP, start, end - start);
    }

    /**
     * The vDSO and vvar cannot be mapped from the image: they are the kernel's. They are moved to
     * their dumped addresses with mremap (the kernel follows a moved vDSO, vdso_mremap), parked
     * first because the dumped place may overlap where they are now. The dumped vDSO text must
     * be this kernel's, or the task's calls into it would land in different code.
     */
    private void moveVdso(List<MapsLine> local) {
        List<Vma> dumpedVvar = new ArrayList<>();
        Vma dumpedVdso = null;
        for (Vma v : img.vmas()) {
            if (v.is(Vma.VVAR)) dumpedVvar.add(v);
            else if (v.is(Vma.VDSO)) dumpedVdso = v;
        }
        MapsLine localVdso = null;
        List<MapsLine> localVvar = new ArrayList<>();
        for (MapsLine m : local) {
            if (m.path().equals("[vdso]")) localVdso = m;
            else localVvar.add(m);
        }
        if (dumpedVdso == null) {
            for (MapsLine m : local) unmap(m.start(), m.end());
            return;
        }
        if (localVdso == null) {
            throw new CriuException("The task used a vDSO at " + Long.toHexString(dumpedVdso.start()) + " but this kernel provides none");
        }
        long localVvarSize = localVvar.stream().mapToLong(MapsLine::size).sum();
        long dumpedVvarSize = dumpedVvar.stream().mapToLong(Vma::size).sum();
        if (localVdso.size() != dumpedVdso.size() || localVvarSize != dumpedVvarSize) {
            throw new CriuException(String.format("vDSO layout differs from the dump: vdso %d bytes + vvar %d bytes here, "
                    + "%d + %d dumped (dumped on another kernel?)", localVdso.size(), localVvarSize, dumpedVdso.size(), dumpedVvarSize));
        }
        boolean inPlace = localVdso.start() == dumpedVdso.start() && localVvar.size() == dumpedVvar.size();
        for (int i = 0; inPlace && i < localVvar.size(); i++) inPlace = localVvar.get(i).start() == dumpedVvar.get(i).start();
        if (inPlace) { // a child of a task dumped with the same layout: its parent put them there already
            checkVdsoText(dumpedVdso);
            return;
        }
        // park everything, keeping relative positions, then put each piece at its dumped place
        long base = local.get(0).start();
        for (MapsLine m : local) mremap(m.start(), m.size(), park + (m.start() - base));
        long vvarTo = dumpedVvar.isEmpty() ? 0 : dumpedVvar.get(0).start();
        long localVvarStart = localVvar.isEmpty() ? 0 : localVvar.get(0).start();
        for (MapsLine m : localVvar) mremap(park + (m.start() - base), m.size(), vvarTo + (m.start() - localVvarStart));
        mremap(park + (localVdso.start() - base), localVdso.size(), dumpedVdso.start());
        checkVdsoText(dumpedVdso);
    }

    private void mremap(long from, long size, long to) {
        if (from == to) return;
        long r = task.syscall(Nr.MREMAP, from, size, size, Linux.MREMAP_MAYMOVE | Linux.MREMAP_FIXED, to);
        if (r != to) throw new CriuException(String.format("mremap of 0x%x to 0x%x landed at 0x%x", from, to, r));
    }

    /**
     * The dumped vDSO (its pages are in the dump) must export the same symbols at the same
     * offsets as this kernel's: then the running kernel's vDSO serves the task's saved pointers.
     */
    private void checkVdsoText(Vma vdso) {
        List<PageRun> runs = PagePlan.inside(img.pages(), vdso);
        if (runs.isEmpty()) return;
        byte[] dumped = new byte[(int) vdso.size()];
        long dumpedBytes = 0;
        try (Arena a = Arena.ofConfined()) {
            for (PageRun r : runs) {
                MemorySegment buf = a.allocate(r.bytes());
                pages.read(r, 0, buf);
                MemorySegment.copy(buf, JAVA_BYTE, 0, dumped, (int) (r.vaddr() - vdso.start()), (int) r.bytes());
                dumpedBytes += r.bytes();
            }
        }
        // jcriu's own dumps taken while compel's "syscall; int3" patch sat on the vDSO's first
        // bytes (the ELF magic) carry it in the image: put the magic back before comparing.
        if (dumped[0] == 0x0f && dumped[1] == 0x05 && dumped[2] == (byte) 0xcc && dumped[3] == 'F') {
            dumped[0] = 0x7f;
            dumped[1] = 'E';
            dumped[2] = 'L';
            LOG.warn("the dumped vDSO carries an injection patch over its ELF header (a jcriu dump that did not undo it)");
        }
        byte[] here = task.read(vdso.start(), (int) vdso.size());
        boolean same = true;
        for (PageRun r : runs) {
            int from = (int) (r.vaddr() - vdso.start()), to = from + (int) r.bytes();
            same &= Arrays.equals(here, from, to, dumped, from, to);
        }
        if (same) return; // every dumped page is this kernel's (a dump may hold only the pages it touched)
        var want = dumpedBytes == vdso.size() ? VdsoSymbols.of(dumped) : java.util.Map.<String, Long>of();
        var have = VdsoSymbols.of(here);
        if (want.isEmpty() || !want.equals(have)) {
            throw new CriuException(String.format("The vDSO at 0x%x (%s) is not this kernel's and %s: the task was dumped "
                    + "on another kernel, which jcriu cannot restore yet (dumped %s, here %s)", vdso.start(),
                    pages.where(runs.get(0), 0), dumpedBytes == vdso.size() ? "exports other symbols or offsets"
                            : "only part of it was dumped", want, have));
        }
        LOG.info("vDSO differs from the dumped one but exports the same %d symbols at the same offsets", want.size());
    }

    /** Maps every dumped VMA at its address; writable first wherever pages are to be written. */
    void mapVmas() {
        List<Vma> vmas = img.vmas();
        boolean[] hasPages = PagePlan.vmasWithPages(vmas, img.pages());
        int openId = -1, openFd = -1;
        int attachProt = 0;
        try {
            for (int i = 0; i < vmas.size(); i++) {
                Vma v = vmas.get(i);
                if (v.special()) continue;
                checkSupported(v);
                if (kept[i]) {
                    // inherited with the parent's protection (finish() sets the child's); pages that
                    // differ go through /proc/PID/mem where it is read-only
                    firstProt[i] = inherited.inheritedProt(i);
                    continue;
                }
                if (v.is(Vma.SYSVIPC)) {
                    // one shmat maps the whole segment over all the VMAs of its attachment
                    if (v.pgoff() == 0) attachProt = attachSysv(vmas, i);
                    firstProt[i] = attachProt;
                    continue;
                }
                if (v.is(Vma.ANON_SHARED)) {
                    firstProt[i] = v.prot(); // mapped from its object below, with its own protection
                    continue;
                }
                if (v.is(Vma.MEMFD)) {
                    // mapped from its object below; a private mapping of it may have pages of its own
                    firstProt[i] = v.prot() | (hasPages[i] ? Linux.PROT_WRITE : 0);
                    continue;
                }
                int prot = v.prot() | (hasPages[i] ? Linux.PROT_WRITE : 0);
                firstProt[i] = prot;
                int flags = (v.flags() & MAP_FLAGS_KEPT) | Linux.MAP_FIXED_NOREPLACE;
                // an AIO ring's pages go to a private stand-in first (AioRings replaces it)
                if (v.is(Vma.AIORING)) {
                    if (img.mm().getAiosList().stream().noneMatch(a -> a.getId() == v.start())) {
                        throw new CriuException(String.format("%s of %s is an AIO ring without its aios entry", v,
                                dir.path(ImageType.MM, img.pid()).getFileName()));
                    }
                    flags = Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS | Linux.MAP_FIXED_NOREPLACE;
                }
                int fd = -1;
                if (v.fileBacked()) {
                    if (openId != (int) v.shmid()) {
                        if (openFd >= 0) Remote.close(task, openFd);
                        openFd = -1;
                        openId = (int) v.shmid();
                        openFd = openMapped(v);
                    }
                    fd = openFd;
                    flags &= ~Linux.MAP_ANONYMOUS;
                }
                long r;
                try {
                    if (fd < 0 && i > 0 && joinsPrevious(vmas.get(i - 1), v)) {
                        r = mapApart(v, prot, flags);
                    } else {
                        r = task.syscall(Nr.MMAP, v.start(), v.size(), prot, flags, fd, fd >= 0 ? v.pgoff() : 0);
                    }
                } catch (ErrnoException e) {
                    throw new CriuException(e.errno(), String.format("Can't map %s (%s): %s", v, describe(v), e.getMessage()), e);
                }
                if (r != v.start()) throw new CriuException(String.format("%s was mapped at 0x%x", v, r));
            }
        } finally {
            if (openFd >= 0) Remote.close(task, openFd);
        }
        for (TaskImages.SharedAnon obj : img.shmem().values()) mapSharedAnon(obj);
        LOG.info("mapped %d VMAs", vmas.size());
        if (inherited != null) dropParentPages();
    }

    /**
     * Two private anonymous VMAs that touch were two in the dumped task because the kernel could
     * not merge them (typically one was moved by mremap, as glibc's realloc does, and kept the page
     * offset of where it was first mapped). Mapped afresh at its address the second would get the
     * offset that continues the first and the kernel would merge them, now or at a later mprotect:
     * maps would show one line where the task had two.
     */
    private static boolean joinsPrevious(Vma prev, Vma v) {
        return prev.end() == v.start() && anonPrivate(prev) && anonPrivate(v) && (v.flags() & Linux.MAP_GROWSDOWN) == 0
                && prev.prot() == v.prot() && prev.flags() == v.flags() && prev.madv() == v.madv();
    }

    private static boolean anonPrivate(Vma v) {
        return !v.special() && !v.fileBacked() && !v.is(Vma.ANON_SHARED) && !v.is(Vma.MEMFD) && !v.is(Vma.SYSVIPC)
                && !v.is(Vma.AIORING);
    }

    /**
     * Maps {@code v} at another address and moves it into place, so its page offset is that of the
     * other address. The kernel keeps the offset across mremap only once the area has an anon_vma
     * (an area never written to takes its new address's offset, mm/vma.c copy_vma), so one page is
     * written first and dropped again after the move. A PROT_NONE placeholder taken with
     * MAP_FIXED_NOREPLACE first keeps the guarantee every other mapping has: nothing already there
     * is replaced.
     */
    private long mapApart(Vma v, int prot, int flags) {
        long hold = task.syscall(Nr.MMAP, v.start(), v.size(), Linux.PROT_NONE,
                Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS | Linux.MAP_FIXED_NOREPLACE, -1, 0);
        if (hold != v.start()) throw new CriuException(String.format("%s was mapped at 0x%x", v, hold));
        long tmp = task.syscall(Nr.MMAP, 0, v.size(), prot, flags & ~Linux.MAP_FIXED_NOREPLACE, -1, 0);
        task.write(tmp, new byte[1]); // through /proc/PID/mem where prot has no PROT_WRITE
        mremap(tmp, v.size(), v.start());
        task.syscall(Nr.MADVISE, v.start(), Linux.PAGE_SIZE, MADV_DONTNEED);
        return v.start();
    }

    /** Pages of the parent in kept VMAs that the child did not have: zero (or the file's) again. */
    private void dropParentPages() {
        long bytes = 0;
        for (long[] r : inherited.dropped()) {
            try {
                task.syscall(Nr.MADVISE, r[0], r[1] - r[0], MADV_DONTNEED);
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), String.format("madvise(0x%x, %d, MADV_DONTNEED) for task %d (pages of its parent "
                        + "%d it did not have): %s", r[0], r[1] - r[0], img.pid(), inherited.parent().pid(), e.getMessage()), e);
            }
            bytes += r[1] - r[0];
        }
        if (bytes > 0) LOG.info("task %d dropped %d bytes of its parent's pages", img.pid(), bytes);
    }

    /**
     * One shared anonymous object for all the VMAs that map it (they see each other's writes):
     * it is created whole at a free address, filled there, and every VMA maps it through
     * /proc/self/map_files at its own offset, which keeps the kernel's "/dev/zero (deleted)"
     * identity that /proc/PID/maps shows; then the creating mapping goes. An object an earlier
     * task of this restore created is mapped from that task's map_files link instead (grown with
     * ftruncate if this task maps more of it), neither created nor filled again.
     *
     * <p>An object dumped as a memfd (VMA_AREA_MEMFD) is made as its memfd.img entry says: with
     * the hugetlb flag and the name "/anon_hugepage" it was shared hugetlb memory and is made so
     * again (an anonymous MAP_SHARED | MAP_HUGETLB mapping of the dumped page size: the same
     * "/anon_hugepage (deleted)" in maps, where CRIU gives a memfd of that name); "/dev/zero"
     * without it is shared anonymous memory as above; anything else is memfd_create'd with its
     * name and flags. Its size is the dumped inode's.
     */
    private void mapSharedAnon(TaskImages.SharedAnon obj) {
        MemfdInodeEntry mie = obj.memfd();
        List<Vma> users = new ArrayList<>();
        List<Integer> userIdx = new ArrayList<>();
        long extent = 0;
        boolean noreserve = true;
        for (int i = 0; i < img.vmas().size(); i++) {
            Vma v = img.vmas().get(i);
            if (mie == null ? v.is(Vma.ANON_SHARED) && !v.is(Vma.SYSVIPC) && v.shmid() == obj.shmid()
                    : v.is(Vma.MEMFD) && img.files().get((int) v.shmid()).getMemfd().getInodeId() == mie.getInodeId()) {
                users.add(v);
                userIdx.add(i);
                extent = Math.max(extent, v.pgoff() + v.size());
                noreserve &= (v.flags() & Linux.MAP_NORESERVE) != 0;
            }
        }
        if (mie != null && !anonymousKind(mie) && (mie.getHugetlbFlag() & MFD_HUGETLB) == 0) {
            mapMemfd(obj, mie, users);
            return;
        }
        int hugeFlags = mie != null && (mie.getHugetlbFlag() & MFD_HUGETLB) != 0 ? MAP_HUGETLB | (mie.getHugetlbFlag() & MAP_HUGE_MASK) : 0;
        long align = hugeFlags == 0 ? Linux.PAGE_SIZE : hugePageSize(hugeFlags);
        if (mie != null) extent = Math.max(extent, (mie.getSize() + align - 1) / align * align);
        SharedAnonObjects.Mapped earlier = shared == null ? null : shared.get(obj.shmid());
        long tmp = 0;
        int fd, made = -1;
        if (earlier != null) {
            fd = Remote.open(task, String.format("/proc/%d/map_files/%x-%x", earlier.pid(), earlier.start(), earlier.end()),
                    Linux.O_RDWR | Linux.O_CLOEXEC);
            if (extent > earlier.size()) {
                task.syscall(Nr.FTRUNCATE, fd, extent);
                shared.grown(obj.shmid(), extent);
            }
            LOG.info("shared memory object %d of task %d is task %d's", obj.shmid(), img.pid(), earlier.pid());
        } else {
            tmp = FreeArea.find(extent, align, img.vmas(), MapsLine.of(task.tid()));
            int flags = Linux.MAP_SHARED | Linux.MAP_FIXED_NOREPLACE;
            if (mie == null || anonymousKind(mie)) {
                // huge pages are reserved for the whole object at mmap unless every mapping of it had MAP_NORESERVE
                flags |= Linux.MAP_ANONYMOUS | hugeFlags | (hugeFlags != 0 && noreserve && !users.isEmpty() ? Linux.MAP_NORESERVE : 0);
            } else {
                made = memfdCreate(mie, extent);
            }
            long r;
            try {
                r = task.syscall(Nr.MMAP, tmp, extent, Linux.PROT_READ | Linux.PROT_WRITE, flags, made, 0);
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), String.format("Can't create shared memory object %d of task %d (%d bytes%s): %s",
                        obj.shmid(), img.pid(), extent, hugeFlags != 0 ? " of " + (align >> 10) + " kB huge pages: are there enough free "
                        + "in /proc/sys/vm/nr_hugepages?" : "", e.getMessage()), e);
            }
            if (r != tmp) throw new CriuException(String.format("shared memory object %d was created at 0x%x", obj.shmid(), r));
            if (!obj.runs().isEmpty()) {
                List<PageRun> at = new ArrayList<>();
                for (PageRun p : obj.runs()) at.add(new PageRun(tmp + p.vaddr(), p.nrPages(), p.flags(), p.sourceOffset()));
                try (LocalPageSource src = new LocalPageSource(dir.path(ImageType.PAGES, obj.pagesId()))) {
                    int pid = task.tid();
                    new PageWriter(src, (local, remote) -> Sys.processVmWritev(pid, local, remote, local.byteSize()), 1).write(at);
                }
            }
            fd = made >= 0 ? made
                    : Remote.open(task, String.format("/proc/self/map_files/%x-%x", tmp, tmp + extent), Linux.O_RDWR | Linux.O_CLOEXEC);
        }
        try {
            for (int u = 0; u < users.size(); u++) {
                Vma v = users.get(u);
                int type = mie != null && (v.flags() & Linux.MAP_PRIVATE) != 0 ? Linux.MAP_PRIVATE : Linux.MAP_SHARED;
                int flags = type | (v.flags() & Linux.MAP_NORESERVE) | Linux.MAP_FIXED_NOREPLACE;
                try {
                    long m = task.syscall(Nr.MMAP, v.start(), v.size(), firstProt[userIdx.get(u)], flags, fd, v.pgoff());
                    if (m != v.start()) throw new CriuException(String.format("%s was mapped at 0x%x", v, m));
                } catch (ErrnoException e) {
                    throw new CriuException(e.errno(), String.format("Can't map %s of shared memory object %d: %s", v, obj.shmid(),
                            e.getMessage()), e);
                }
            }
            if (made >= 0 && mie.getSeals() != F_SEAL_SEAL && mie.getSeals() != 0) {
                // after the mappings: F_SEAL_FUTURE_WRITE would refuse a writable one
                task.syscall(Nr.FCNTL, made, F_ADD_SEALS, mie.getSeals());
            }
        } finally {
            Remote.close(task, fd);
        }
        if (tmp != 0) task.syscall(Nr.MUNMAP, tmp, extent);
        if (shared != null && earlier == null && !users.isEmpty()) {
            shared.put(obj.shmid(), new SharedAnonObjects.Mapped(task.tid(), users.get(0).start(), users.get(0).end(), extent));
        }
    }

    /**
     * The mappings of a real memfd (CRIU's VMA_AREA_MEMFD): the memfd is the one the files code
     * makes for the inode (made and filled once per restore, whichever task or fd reaches it
     * first), so the task's fds and every task's mappings of it are one object as at dump. A
     * shared mapping whose map_files link was read-only is mapped from a read-only open, so that
     * the memfd can be sealed against writing afterwards (F_SEAL_WRITE refuses writably mapped memfds).
     */
    private void mapMemfd(TaskImages.SharedAnon obj, MemfdInodeEntry mie, List<Vma> users) {
        int fd = files.openMemfdForMap(task, (int) mie.getInodeId()), ro = -1;
        try {
            for (Vma v : users) {
                boolean priv = (v.flags() & Linux.MAP_PRIVATE) != 0;
                int use = fd;
                // read-only also where the memfd will be sealed against writes: a mapping of a
                // writable open could be made writable later, and the kernel then refuses the seal
                boolean sealedRo = (v.prot() & Linux.PROT_WRITE) == 0 && (mie.getSeals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0;
                if (!priv && ((v.fdflags() & Linux.O_ACCMODE) == Linux.O_RDONLY || sealedRo)) {
                    if (ro < 0) ro = Remote.open(task, "/proc/self/fd/" + fd, Linux.O_RDONLY | Linux.O_CLOEXEC);
                    use = ro;
                }
                int flags = (priv ? Linux.MAP_PRIVATE : Linux.MAP_SHARED) | (v.flags() & Linux.MAP_NORESERVE) | Linux.MAP_FIXED_NOREPLACE;
                try {
                    long m = task.syscall(Nr.MMAP, v.start(), v.size(), firstProt[img.vmas().indexOf(v)], flags, use, v.pgoff());
                    if (m != v.start()) throw new CriuException(String.format("%s was mapped at 0x%x", v, m));
                } catch (ErrnoException e) {
                    throw new CriuException(e.errno(), String.format("Can't map %s of memfd:%s (shmid %d): %s", v, mie.getName(),
                            obj.shmid(), e.getMessage()), e);
                }
            }
        } finally {
            Remote.close(task, fd);
            if (ro >= 0) Remote.close(task, ro);
        }
        LOG.info("task %d maps memfd:%s in %d VMAs", img.pid(), mie.getName(), users.size());
    }

    /** A memfd entry standing for memory the kernel names itself: made by an anonymous mmap, not memfd_create. */
    private static boolean anonymousKind(MemfdInodeEntry mie) {
        boolean huge = (mie.getHugetlbFlag() & MFD_HUGETLB) != 0;
        return huge ? mie.getName().equals("/anon_hugepage") : mie.getName().equals("/dev/zero");
    }

    /** The huge page size MAP_HUGE_* bits name (log2 of the size at bit 26); 0 bits: this machine's default. */
    static long hugePageSize(int flags) {
        int shift = (flags & MAP_HUGE_MASK) >>> 26;
        if (shift != 0) return 1L << shift;
        for (String l : new String(Sys.readFile("/proc/meminfo"), java.nio.charset.StandardCharsets.US_ASCII).split("\n")) {
            if (l.startsWith("Hugepagesize:")) return Long.parseLong(l.replaceAll("\\D", "")) << 10;
        }
        return 2L << 20;
    }

    /** memfd_create in the task with the entry's name and flags, sized; returns its fd. */
    private int memfdCreate(MemfdInodeEntry mie, long size) {
        int flags = (mie.getSeals() == F_SEAL_SEAL ? 0 : MFD_ALLOW_SEALING) | (mie.getHugetlbFlag() & (MFD_HUGETLB | MAP_HUGE_MASK))
                | MFD_CLOEXEC;
        int fd;
        try (var s = org.jcriu.files.reg.RegFileHandler.pathIn(task, mie.getName())) {
            fd = (int) task.syscall(Nr.MEMFD_CREATE, s.addr(), flags);
        }
        task.syscall(Nr.FTRUNCATE, fd, size);
        if (mie.getUid() != 0 || mie.getGid() != 0) task.syscall(Nr.FCHOWN, fd, mie.getUid(), mie.getGid());
        return fd;
    }

    /** Objects created by earlier tasks of the same restore are mapped from them (see {@link SharedAnonObjects}). */
    void shareWith(SharedAnonObjects objects) {
        this.shared = objects;
    }

    /**
     * Attaches SysV segment vmas[first].shmid at its dumped address; returns the protection the
     * whole attachment has then (finish() narrows each VMA to its own). The segment stayed in the
     * kernel (only attachments are dumped); it is attached read-only when it was (vma_entry.fdflags
     * O_RDONLY, from the map_files link mode, and no VMA of it writable).
     */
    private int attachSysv(List<Vma> vmas, int first) {
        Vma head = vmas.get(first);
        boolean write = (head.fdflags() & Linux.O_ACCMODE) != Linux.O_RDONLY, exec = false;
        long end = head.start();
        for (int j = first; j < vmas.size(); j++) {
            Vma v = vmas.get(j);
            if (!v.is(Vma.SYSVIPC) || v.shmid() != head.shmid() || v.start() != end || (j > first && v.pgoff() == 0)) break;
            write |= (v.prot() & Linux.PROT_WRITE) != 0;
            exec |= (v.prot() & Linux.PROT_EXEC) != 0;
            end = v.end();
        }
        int flags = (write ? 0 : SHM_RDONLY) | (exec ? SHM_EXEC : 0);
        long r;
        try {
            r = task.syscall(Nr.SHMAT, head.shmid(), head.start(), flags);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), String.format("Can't attach SysV shm segment %d at 0x%x (%s): %s%s", head.shmid(),
                    head.start(), dir.path(ImageType.MM, img.pid()).getFileName(), e.getMessage(),
                    e.errno() == Errno.EINVAL || e.errno() == EIDRM ? " (the segment is gone or smaller than dumped)" : ""), e);
        }
        if (r != head.start()) throw new CriuException(String.format("SysV shm segment %d was attached at 0x%x, not 0x%x", head.shmid(), r, head.start()));
        return Linux.PROT_READ | (write ? Linux.PROT_WRITE : 0) | (exec ? Linux.PROT_EXEC : 0);
    }

    private void checkSupported(Vma v) {
        String what = v.is(Vma.SOCKET) ? "a socket mapping"
                : v.is(Vma.SHSTK) ? "a shadow stack" : null;
        if (what != null) {
            throw new CriuException(String.format("%s of %s is %s: not supported yet", v, dir.path(ImageType.MM, img.pid()).getFileName(), what));
        }
    }

    private String describe(Vma v) {
        if (!v.fileBacked()) return "anonymous";
        return MappedFiles.path(img.files().get((int) v.shmid()).getReg(), root) + " at offset " + v.pgoff();
    }

    private int openMapped(Vma v) {
        RegFileEntry f = img.files().get((int) v.shmid()).getReg();
        int acc = v.fdflags() & Linux.O_ACCMODE;
        if (acc == Linux.O_WRONLY) acc = Linux.O_RDWR; // mmap needs read access in any case
        try {
            return files.openForMap(task, v.shmid(), acc | Linux.O_CLOEXEC);
        } catch (CriuException e) {
            throw new CriuException(e.errno(), "Can't open " + MappedFiles.path(f, root) + " to map " + v + ": " + e.getMessage(), e);
        }
    }

    /** Writes the dumped pages from {@code threads} workers; returns the byte count. */
    long writePages(int threads) {
        List<PageRun> runs = PagePlan.writable(img.vmas(), img.pages());
        if (inherited != null) {
            long t0 = System.nanoTime(), all = runs.stream().mapToLong(PageRun::bytes).sum();
            runs = inherited.changed(runs, pages);
            LOG.info("task %d: %d of %d bytes differ from its parent's (compared in %d us)", img.pid(),
                    runs.stream().mapToLong(PageRun::bytes).sum(), all, (System.nanoTime() - t0) / 1000);
        }
        int pid = task.tid();
        MemFallback mem = new MemFallback(pid);
        try {
            return new PageWriter(pages, (local, remote) -> {
                try {
                    return Sys.processVmWritev(pid, local, remote, local.byteSize());
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EFAULT) throw e;
                    return mem.write(local, remote);
                }
            }, threads).write(runs);
        } finally {
            mem.close();
        }
    }

    /**
     * Puts back the dumped protections that mapVmas widened, then the VMAs' madvise bits, the
     * guard pages (MADV_GUARD_INSTALL, kept by CRIU as GUARD-only entries after the VMAs) and
     * the locks, last: the kernel refuses guard pages in locked VMAs, and mlock after the pages
     * are written populates nothing more.
     */
    void finish() {
        List<Vma> vmas = img.vmas();
        for (int i = 0; i < vmas.size(); i++) {
            Vma v = vmas.get(i);
            if (v.special()) continue;
            if (firstProt[i] != v.prot()) task.syscall(Nr.MPROTECT, v.start(), v.size(), v.prot());
            for (int bit = 0; bit < 64; bit++) {
                if ((v.madv() & (1L << bit)) == 0) continue;
                try {
                    task.syscall(Nr.MADVISE, v.start(), v.size(), bit);
                } catch (ErrnoException e) {
                    LOG.warn("madvise(%d) on %s: %s", bit, v, e.getMessage());
                }
            }
        }
        for (var aio : img.mm().getAiosList()) AioRings.restore(task, aio, img.pid());
        for (var e : img.mm().getVmasList()) {
            if (e.getStatus() != Vma.GUARD) continue;
            try {
                task.syscall(Nr.MADVISE, e.getStart(), e.getEnd() - e.getStart(), MADV_GUARD_INSTALL);
            } catch (ErrnoException ex) {
                throw new CriuException(ex.errno(), String.format("madvise(0x%x, %d, MADV_GUARD_INSTALL) for task %d: %s", e.getStart(),
                        e.getEnd() - e.getStart(), img.pid(), ex.getMessage()), ex);
            }
        }
        for (Vma v : vmas) {
            if (v.special() || (v.flags() & MAP_LOCKED) == 0) continue;
            try {
                task.syscall(Nr.MLOCK, v.start(), v.size());
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), String.format("mlock of %s of task %d: %s", v, img.pid(), e.getMessage()), e);
            }
        }
        if (img.mm().getThpDisabled()) {
            task.syscall(Nr.PRCTL, Linux.PR_SET_THP_DISABLE, 1, 0, 0, 0);
        } else if (inherited != null && inherited.parent().mm().getThpDisabled()) {
            task.syscall(Nr.PRCTL, Linux.PR_SET_THP_DISABLE, 0, 0, 0, 0); // fork copied the parent's setting
        }
    }

    /** /proc/PID/mem for the pages process_vm_writev cannot reach, opened on first need. */
    private static final class MemFallback {
        private final int pid;
        private int fd = -1;

        MemFallback(int pid) {
            this.pid = pid;
        }

        synchronized long write(MemorySegment local, long remote) {
            if (fd < 0) fd = Sys.open("/proc/" + pid + "/mem", Linux.O_RDWR | Linux.O_CLOEXEC, 0);
            return Sys.memWrite(fd, local, remote, local.byteSize());
        }

        synchronized void close() {
            if (fd >= 0) Sys.close(fd);
            fd = -1;
        }
    }
}

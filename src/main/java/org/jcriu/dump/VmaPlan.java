package org.jcriu.dump;

import java.util.ArrayList;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.jcriu.CriuException;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.memfd.MemfdHandler;
import org.jcriu.image.proto.AioRingEntry;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.mem.GuardRegions;
import org.jcriu.mem.SysvShm;
import org.jcriu.proc.ProcFs;
import org.jcriu.proc.Vma;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * Turns /proc/PID/smaps into CRIU's vma_entry list and says which pages of each area the
 * memory dump saves. Status bits and flags follow what CRIU 4.2 writes (see the sleep fixture):
 * the stack carries no STACK bit, [vvar] and [vvar_vclock] form one VVAR area, [vsyscall] is
 * not REGULAR.
 */
public final class VmaPlan {
    private static final Logger LOG = Log.get("mem");
    // criu/include/image.h VMA_* status bits (facts of the image format).
    public static final int VMA_AREA_REGULAR = 1, VMA_AREA_STACK = 1 << 1, VMA_AREA_VSYSCALL = 1 << 2,
            VMA_AREA_VDSO = 1 << 3, VMA_AREA_HEAP = 1 << 5, VMA_FILE_PRIVATE = 1 << 6, VMA_FILE_SHARED = 1 << 7,
            VMA_ANON_SHARED = 1 << 8, VMA_ANON_PRIVATE = 1 << 9, VMA_AREA_SYSVIPC = 1 << 10, VMA_AREA_VVAR = 1 << 12,
            VMA_AREA_AIORING = 1 << 13, VMA_AREA_MEMFD = 1 << 14, VMA_AREA_GUARD = 1 << 16;
    static final int MAP_LOCKED = 0x2000, MAP_DROPPABLE = 0x08, MAP_HUGETLB = 0x40000, MAP_HUGE_SHIFT = 26;
    // madvise advice numbers; vma_entry.madv is a bit set of 1 << advice.
    private static final int MADV_RANDOM = 1, MADV_SEQUENTIAL = 2, MADV_DONTFORK = 10, MADV_MERGEABLE = 12,
            MADV_HUGEPAGE = 14, MADV_NOHUGEPAGE = 15, MADV_DONTDUMP = 16, MADV_WIPEONFORK = 18;

    /** How the memory dump treats an area's pages. */
    public enum Pages {
        /**
         * Nothing saved: shared file mappings (the file has the data), SysV shm attachments (the
         * segment stays in the kernel), MAP_DROPPABLE memory (the kernel may zero it at any time,
         * so CRIU saves none of it), vvar, vsyscall.
         */
        NONE,
        /** Present or swapped pages, zero page excepted; restorable lazily (PE_LAZY). */
        ANON_LAZY,
        /** As ANON_LAZY but not lazily restorable (locked memory). */
        ANON,
        /** Every page, present or not: the vDSO, whose content restore compares with the running kernel's. */
        ALL,
        /** Only pages that were copied on write (anonymous) or swapped out; the rest is in the file. */
        FILE_PRIVATE
    }

    public record Area(long start, long end, Pages pages) {}

    private final List<VmaEntry> entries = new ArrayList<>();
    private final List<Area> areas = new ArrayList<>();
    private final List<AioRingEntry> aios = new ArrayList<>();

    public List<VmaEntry> entries() {
        return entries;
    }

    public List<Area> areas() {
        return areas;
    }

    /** mm_entry.aios: the task's AIO rings. */
    public List<AioRingEntry> aios() {
        return aios;
    }

    /**
     * Checks every area is supported (no side effects) when {@code files} is null, else also
     * registers the mapped files and builds the entries.
     */
    public static VmaPlan build(int pid, List<Vma> vmas, DumpFiles files) {
        VmaPlan p = new VmaPlan();
        VmaEntry.Builder prevVvar = null;
        long prevFileDev = -1, prevFileIno = -1;
        int prevFileFlags = -1, prevFileId = -1;
        Sysv sysv = new Sysv(pid);
        for (Vma v : vmas) {
            refuseUnsupported(pid, v);
            VmaEntry.Builder e = VmaEntry.newBuilder().setStart(v.start()).setEnd(v.end()).setPgoff(0).setShmid(0)
                    .setProt((v.read() ? Linux.PROT_READ : 0) | (v.write() ? Linux.PROT_WRITE : 0) | (v.exec() ? Linux.PROT_EXEC : 0))
                    .setFd(-1);
            int flags = v.shared() ? Linux.MAP_SHARED : Linux.MAP_PRIVATE;
            if (v.has(Vma.VM_GD)) flags |= Linux.MAP_GROWSDOWN;
            if (v.has(Vma.VM_LO)) flags |= MAP_LOCKED;
            if (v.has(Vma.VM_LF) && files != null) {
                LOG.warn("%s of task %d is locked on fault (MLOCK_ONFAULT): CRIU's image has no place for that, it is "
                        + "restored fully locked", v, pid);
            }
            if (v.has(Vma.VM_NR)) flags |= Linux.MAP_NORESERVE;
            // smaps shows a droppable mapping as private ("p"); its map type is MAP_DROPPABLE alone
            if (v.has(Vma.VM_DP)) flags = (flags & ~Linux.MAP_PRIVATE) | MAP_DROPPABLE;
            // "ht" gives MAP_HUGETLB; the page size bits only where the kernel's own hugetlbfs backs
            // the memory (anonymous hugetlb), as CRIU: a file on a hugetlbfs mount brings its size
            int hugeSize = Long.numberOfTrailingZeros(v.kernelPageSize()) << MAP_HUGE_SHIFT;
            if (v.has(Vma.VM_HT)) flags |= MAP_HUGETLB | (anonHugepage(v) ? hugeSize : 0);
            long madv = madvise(v);
            if (madv != 0) e.setMadv(madv);
            String path = v.path();
            int status;
            Pages pages;
            if (path.equals("[vsyscall]")) {
                status = VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE;
                flags |= Linux.MAP_ANONYMOUS;
                pages = Pages.NONE;
            } else if (path.equals("[vvar]") || path.equals("[vvar_vclock]")) {
                if (prevVvar != null && prevVvar.getEnd() == v.start()) {
                    // The kernel splits the vvar area in two since 6.x; CRIU keeps one VVAR area.
                    prevVvar.setEnd(v.end());
                    continue;
                }
                status = VMA_AREA_REGULAR | VMA_ANON_PRIVATE | VMA_AREA_VVAR;
                flags |= Linux.MAP_ANONYMOUS;
                pages = Pages.NONE;
            } else if (path.equals("[vdso]")) {
                status = VMA_AREA_REGULAR | VMA_AREA_VDSO | VMA_ANON_PRIVATE;
                flags |= Linux.MAP_ANONYMOUS;
                pages = Pages.ALL;
            } else if (aioPath(v)) {
                // An io_setup ring: kernel memory tied to an AIO context. CRIU marks it with the
                // AIORING bit alone, saves all its pages, and lists it in mm_entry.aios.
                status = VMA_AREA_AIORING;
                pages = Pages.ALL;
                long len = v.end() - v.start();
                p.aios.add(AioRingEntry.newBuilder().setId(v.start()).setRingLen((int) len).setNrReq(aioNrReq(len)).build());
            } else if (sharedAnon(v)) {
                // one object however many VMAs map it: its pages go to pagemap-shmem-SHMID.img
                // (mem.ShmemDump), SHMID being its inode, never to the task's pagemap
                status = VMA_AREA_REGULAR | VMA_ANON_SHARED;
                flags |= Linux.MAP_ANONYMOUS;
                pages = Pages.NONE;
                e.setShmid(v.ino()).setPgoff(v.pgoff());
            } else if (sharedHugetlb(v) || hugetlbMemfd(v)) {
                // CRIU 4.2 dumps it through a memfd (MemfdVmas): no MAP_ANONYMOUS, shmid = the file id;
                // a private mapping of a hugetlb memfd keeps its copied-on-write huge pages
                status = VMA_AREA_REGULAR | (v.shared() ? VMA_FILE_SHARED : VMA_FILE_PRIVATE) | VMA_AREA_MEMFD;
                pages = v.shared() ? Pages.NONE : Pages.FILE_PRIVATE;
                flags |= hugeSize;
                e.setPgoff(v.pgoff());
                if (files != null) {
                    e.setFdflags(Sysv.linkMode(pid, v));
                    e.setShmid(MemfdVmas.fileId(files, pid, v, hugeSize));
                }
            } else if (sysvPath(v)) {
                // An attachment of a SysV segment: its inode number is the shm id. Only the
                // attachment is dumped; restore shmat()s the same segment at the same address.
                status = VMA_AREA_REGULAR | VMA_ANON_SHARED | VMA_AREA_SYSVIPC;
                flags |= Linux.MAP_ANONYMOUS;
                pages = Pages.NONE;
                e.setShmid(v.ino()).setPgoff(v.pgoff());
                sysv.check(v);
                if (files != null) e.setFdflags(sysv.accessMode(v));
            } else if (v.anonymous() || hugetlbAnon(v)) {
                status = VMA_AREA_REGULAR | VMA_ANON_PRIVATE | (path.equals("[heap]") ? VMA_AREA_HEAP : 0);
                flags |= Linux.MAP_ANONYMOUS;
                pages = v.has(Vma.VM_DP) ? Pages.NONE : v.has(Vma.VM_LO) || v.has(Vma.VM_HT) ? Pages.ANON : Pages.ANON_LAZY;
            } else if (memfdMapping(v)) {
                // as CRIU (proc_parse.c handle_vma, cr-dump.c dump_filemap): MEMFD and FILE_SHARED or
                // FILE_PRIVATE, no MAP_ANONYMOUS, shmid = a MEMFD file id; the contents belong to the
                // memfd's inode (memfd.img + pagemap-shmem), a private mapping keeps its copied pages
                status = VMA_AREA_REGULAR | VMA_AREA_MEMFD | (v.shared() ? VMA_FILE_SHARED : VMA_FILE_PRIVATE);
                pages = v.shared() ? Pages.NONE : Pages.FILE_PRIVATE;
                e.setPgoff(v.pgoff());
                if (files != null) {
                    e.setFdflags(Sysv.linkMode(pid, v));
                    e.setShmid(MemfdHandler.mappingFileId(files, pid, v.start(), v.end(), path));
                }
            } else {
                status = VMA_AREA_REGULAR | (v.shared() ? VMA_FILE_SHARED : VMA_FILE_PRIVATE);
                pages = v.shared() ? Pages.NONE : Pages.FILE_PRIVATE;
                e.setPgoff(v.pgoff());
                int openFlags = v.shared() && v.write() ? Linux.O_RDWR : Linux.O_RDONLY;
                e.setFdflags(openFlags);
                if (files != null) {
                    String mf = "/proc/" + pid + "/map_files/" + Long.toHexString(v.start()) + "-" + Long.toHexString(v.end());
                    Stat st;
                    try {
                        st = Sys.stat(mf);
                    } catch (ErrnoException ex) {
                        throw new CriuException(ex.errno(), "Can't stat the file of mapping " + v + " of task " + pid + ": " + ex.getMessage());
                    }
                    if (!st.isReg()) {
                        throw new CriuException("Can't dump mapping " + v + " of task " + pid + ": mappings of non-regular files are not supported");
                    }
                    int id;
                    if (st.dev() == prevFileDev && st.ino() == prevFileIno && openFlags == prevFileFlags) {
                        id = prevFileId;
                    } else if (v.deleted()) {
                        // its name is gone: a ghost file or a link remap, as CRIU's
                        id = files.unlinkedMapFile(mf, "mapping " + v + " of task " + pid,
                                path.substring(0, path.length() - DELETED.length()), st, openFlags);
                    } else {
                        id = files.pathFile(path, st, openFlags);
                    }
                    prevFileDev = st.dev();
                    prevFileIno = st.ino();
                    prevFileFlags = openFlags;
                    prevFileId = id;
                    e.setShmid(id);
                }
            }
            e.setFlags(flags).setStatus(status);
            if ((status & VMA_AREA_VVAR) != 0) prevVvar = e;
            p.builders.add(e);
            p.areas.add(new Area(v.start(), v.end(), pages));
        }
        sysv.checkWhole();
        if (files != null) {
            // CRIU lists MADV_GUARD_INSTALL ranges after the real VMAs, with only the GUARD status bit.
            for (GuardRegions.Range g : GuardRegions.scan(pid)) {
                p.builders.add(VmaEntry.newBuilder().setStart(g.start()).setEnd(g.end()).setPgoff(0).setShmid(0).setProt(0)
                        .setFlags(0).setStatus(VMA_AREA_GUARD).setFd(-1));
            }
        }
        for (VmaEntry.Builder b : p.builders) p.entries.add(b.build());
        return p;
    }

    /** vma_entry.madv: a bit per madvise advice that smaps VmFlags show (as criu/proc_parse.c reads them). */
    static long madvise(Vma v) {
        long madv = 0;
        if (v.has(Vma.VM_SR)) madv |= 1L << MADV_SEQUENTIAL;
        if (v.has(Vma.VM_RR)) madv |= 1L << MADV_RANDOM;
        if (v.has(Vma.VM_DD)) madv |= 1L << MADV_DONTDUMP;
        if (v.has(Vma.VM_DC)) madv |= 1L << MADV_DONTFORK;
        if (v.has(Vma.VM_HG)) madv |= 1L << MADV_HUGEPAGE;
        if (v.has(Vma.VM_NH)) madv |= 1L << MADV_NOHUGEPAGE;
        if (v.has(Vma.VM_MG)) madv |= 1L << MADV_MERGEABLE;
        if (v.has(Vma.VM_WF)) madv |= 1L << MADV_WIPEONFORK;
        return madv;
    }

    /**
     * The nr_events an io_setup call must have asked for to get a ring of {@code len} bytes: the
     * kernel doubles the request and adds 2, then fills whole pages with 32-byte events after the
     * 32-byte header (criu/aio.c does the same sum backwards).
     */
    static int aioNrReq(long len) {
        long events = (len - 32) / 32;
        return (int) ((events - 2) / 2);
    }

    /** An AIO ring's file is "[aio]" on the kernel's internal aio mount. */
    private static boolean aioPath(Vma v) {
        return v.path().startsWith("/[aio]") && !v.anonymous();
    }

    /** MAP_SHARED | MAP_ANONYMOUS memory: a shmem file the kernel names "dev/zero". */
    private static boolean sharedAnon(Vma v) {
        return v.shared() && v.path().equals("/dev/zero (deleted)") && !v.has(Vma.VM_HT);
    }

    /** SysV shm files are named "SYSV" + the key in hex on the kernel's internal shm mount. */
    private static boolean sysvPath(Vma v) {
        return v.path().startsWith("/SYSV") && v.deleted() && !v.anonymous();
    }

    /** MAP_HUGETLB | MAP_ANONYMOUS memory: a file "/anon_hugepage" on the kernel's own hugetlbfs mount. */
    private static boolean anonHugepage(Vma v) {
        return v.has(Vma.VM_HT) && v.path().equals("/anon_hugepage (deleted)");
    }

    /** Private MAP_HUGETLB | MAP_ANONYMOUS memory: its pages go to the task's pagemap. */
    private static boolean hugetlbAnon(Vma v) {
        return anonHugepage(v) && !v.shared();
    }

    /** Shared MAP_HUGETLB | MAP_ANONYMOUS memory: one object, dumped through a memfd as CRIU does. */
    private static boolean sharedHugetlb(Vma v) {
        return anonHugepage(v) && v.shared();
    }

    /** A mapping of a memfd made with MFD_HUGETLB: on the kernel's own hugetlbfs, dumped as a memfd as CRIU does. */
    private static boolean hugetlbMemfd(Vma v) {
        return v.has(Vma.VM_HT) && !v.anonymous() && MemfdHandler.isMemfdPath(v.path());
    }

    /**
     * A file on a hugetlbfs mount (a mount of its own, so not the kernel's anonymous one): a
     * regular file mapping for CRIU too, MAP_HUGETLB in its flags; the file keeps the data of a
     * shared mapping, a private one's copied-on-write huge pages are saved as any private file page.
     */
    private static boolean hugetlbfsFile(Vma v) {
        return v.has(Vma.VM_HT) && !anonHugepage(v) && v.path().startsWith("/") && !v.deleted();
    }

    private final List<VmaEntry.Builder> builders = new ArrayList<>();
    private static final String DELETED = " (deleted)";

    /** A mapping of a memfd (not on hugetlbfs: those are hugetlb memory). */
    private static boolean memfdMapping(Vma v) {
        return !v.anonymous() && !v.has(Vma.VM_HT) && MemfdHandler.isMemfdPath(v.path());
    }

    /**
     * Why a mapping of a file whose name is gone cannot be dumped, or null: a regular file with
     * no link left is dumped as a ghost file, one still linked elsewhere with a link remap.
     */
    private static String unlinked(int pid, Vma v) {
        String mf = "/proc/" + pid + "/map_files/" + Long.toHexString(v.start()) + "-" + Long.toHexString(v.end());
        Stat st;
        try {
            st = Sys.stat(mf);
        } catch (ErrnoException e) {
            return "a mapping of an unlinked file that can't be reached (" + e.getMessage() + ")";
        }
        if (!st.isReg()) return "a mapping of an unlinked non-regular file";
        return null; // no link left: a ghost file; another link left: a link remap (with --link-remap)
    }

    private static void refuseUnsupported(int pid, Vma v) {
        String why = null;
        String path = v.path();
        boolean vvar = path.equals("[vvar]") || path.equals("[vvar_vclock]");
        if (!vvar && (v.has(Vma.VM_IO) || v.has(Vma.VM_PF))) why = "device memory (VM_IO/VM_PFNMAP)";
        else if (v.has(Vma.VM_SS)) why = "a shadow stack";
        else if (path.startsWith("[") && !path.equals("[heap]") && !path.equals("[stack]") && !path.equals("[vdso]")
                && !path.equals("[vvar]") && !path.equals("[vvar_vclock]") && !path.equals("[vsyscall]")) {
            why = "a special mapping " + path;
        } else if (v.anonymous() && v.shared()) why = "shared anonymous memory";
        else if (sysvPath(v)) why = v.shared() ? null : "a private mapping of a SysV shm segment";
        else if (aioPath(v) || sharedAnon(v) || anonHugepage(v) || hugetlbfsFile(v) || hugetlbMemfd(v)) why = null;
        else if (v.has(Vma.VM_HT)) why = "hugetlb memory of an unlinked hugetlbfs file (or of a hugetlb memfd)";
        else if (memfdMapping(v)) why = null;
        else if (!v.anonymous() && v.deleted()) why = unlinked(pid, v);
        else if (!v.anonymous() && !path.startsWith("/")) why = "a mapping without a file path";
        if (why != null) throw new CriuException("Can't dump task " + pid + ": mapping " + v + " is " + why + ", which is not supported yet");
    }

    /**
     * Checks the SysV attachments of a task as restore needs them: each segment still exists in
     * jcriu's own IPC namespace (an IPC_RMID'd one dies with the task), and each attachment is
     * whole (shmat maps the whole segment; CRIU refuses holes too) from offset 0 on.
     */
    private static final class Sysv {
        private final int pid;
        private Map<Integer, SysvShm.Segment> table;
        private int shmid = -1;
        private long attStart, attEnd, pageSize;

        Sysv(int pid) {
            this.pid = pid;
        }

        void check(Vma v) {
            if (table == null) {
                String theirs = ProcFs.readlink(ProcFs.pidDir(pid).resolve("ns/ipc"));
                String ours = ProcFs.readlink(Path.of("/proc/self/ns/ipc"));
                if (!theirs.equals(ours)) {
                    throw new CriuException("Can't dump task " + pid + ": mapping " + v + " is SysV shared memory of another IPC namespace ("
                            + theirs + "), and IPC namespaces are not dumped yet");
                }
                table = SysvShm.read();
            }
            int id = (int) v.ino();
            if (!table.containsKey(id) || table.get(id).removed()) {
                throw new CriuException("Can't dump task " + pid + ": mapping " + v + " is an attachment of SysV shm segment " + id
                        + ", which was removed (IPC_RMID) and would be destroyed with the task");
            }
            if (v.pgoff() == 0) {
                closeAttachment();
                shmid = id;
                attStart = v.start();
                pageSize = v.kernelPageSize();
            } else if (id != shmid || v.start() != attEnd || v.pgoff() != attEnd - attStart) {
                throw new CriuException("Can't dump task " + pid + ": mapping " + v + " of SysV shm segment " + id
                        + " does not continue an attachment from its start (partly unmapped attachments can't be restored)");
            }
            attEnd = v.end();
        }

        void checkWhole() {
            closeAttachment();
        }

        private void closeAttachment() {
            if (shmid < 0) return;
            long size = table.get(shmid).size();
            long whole = (size + pageSize - 1) / pageSize * pageSize;
            if (attEnd - attStart != whole) {
                throw new CriuException(String.format("Can't dump task %d: its attachment of SysV shm segment %d at 0x%x maps "
                        + "%d of the segment's %d bytes (partly unmapped attachments can't be restored)", pid, shmid, attStart,
                        attEnd - attStart, whole));
            }
            shmid = -1;
        }

        /** The attachment's access as its map_files link mode says (CRIU's vma_entry.fdflags): read-only when SHM_RDONLY. */
        int accessMode(Vma v) {
            return linkMode(pid, v);
        }

        /** The open mode of the file behind {@code v}, from its map_files link's mode (criu/proc_parse.c vma_get_mapfile_flags). */
        static int linkMode(int pid, Vma v) {
            String mf = "/proc/" + pid + "/map_files/" + Long.toHexString(v.start()) + "-" + Long.toHexString(v.end());
            int mode = Sys.lstat(mf).mode() & 0600;
            return mode == 0600 ? Linux.O_RDWR : mode == 0200 ? Linux.O_WRONLY : Linux.O_RDONLY;
        }
    }
}

package org.jcriu.kerndat;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * The probes behind {@link Features}. Each asks the kernel directly (a syscall, an ioctl, a
 * /proc file) the way jcriu will use the feature, and says what failed when it is missing.
 */
final class Probes {
    private static final long NR_OPENAT2 = 437;
    private static final int KCMP_VM = 1;
    private static final int MFD_CLOEXEC = 1, MFD_HUGETLB = 4;
    private static final int PTRACE_SECCOMP_GET_FILTER = 0x420c, PTRACE_GET_RSEQ_CONFIGURATION = 0x420f;
    private static final long PTRACE_O_SUSPEND_SECCOMP = 1L << 21;
    /** _IOWR(0xAA, 0x3F, struct uffdio_api) and _IOWR('f', 16, struct pm_scan_arg). */
    private static final long UFFDIO_API = 0xc018aa3fL, PAGEMAP_SCAN = 0xc0606610L;
    private static final long UFFD_API = 0xAA;
    private static final long UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1, UFFD_FEATURE_EVENT_FORK = 1 << 1,
            UFFD_FEATURE_EVENT_REMAP = 1 << 2, UFFD_FEATURE_EVENT_REMOVE = 1 << 3, UFFD_FEATURE_EVENT_UNMAP = 1 << 6;
    private static final long PAGE_IS_WRITTEN = 1 << 1, PAGE_IS_GUARD = 1 << 8;
    private static final long PM_SOFT_DIRTY = 1L << 55;

    private static final Logger LOG = Log.get("check");

    private Probes() {}

    // ---- ptrace, through one traced child shared by the ptrace probes

    /** What one seize of a child taught us; computed once per process. */
    private record PtraceFacts(String seize, String suspendSeccomp, String rseq, String seccompFilter) {}

    private static PtraceFacts ptrace;

    private static synchronized PtraceFacts ptrace() {
        if (ptrace == null) ptrace = probePtrace();
        return ptrace;
    }

    private static PtraceFacts probePtrace() {
        String sleep = Files.isExecutable(Path.of("/bin/sleep")) ? "/bin/sleep" : "/usr/bin/sleep";
        // argv[0] names the probe in ps, for whoever wonders what jcriu just traced
        int pid = Sys.posixSpawn(sleep, List.of("jcriu-check-probe", "1000"), List.of(), new int[] {-1, -1, -1}, true);
        LOG.debug("spawned %s as %d", sleep, pid);
        try (Tracer tracer = Tracer.start()) {
            LOG.debug("tracer started");
            return tracer.call(() -> {
                String seize = null, suspend = null, rseq, filter;
                Task t;
                try {
                    // PTRACE_O_SUSPEND_SECCOMP needs CAP_SYS_ADMIN: try with it, then without.
                    t = Task.seize(tracer, pid, PTRACE_O_SUSPEND_SECCOMP);
                } catch (RuntimeException e) {
                    suspend = "PTRACE_O_SUSPEND_SECCOMP refused: " + e.getMessage();
                    try {
                        t = Task.seize(tracer, pid, 0);
                    } catch (RuntimeException e2) {
                        seize = e2.getMessage();
                        return new PtraceFacts(seize, suspend, "no traced task", "no traced task");
                    }
                }
                LOG.debug("seized %d", pid);
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment conf = a.allocate(32, 8);
                    long r = Sys.raw(Nr.PTRACE, PTRACE_GET_RSEQ_CONFIGURATION, pid, 32, conf.address());
                    rseq = r > 0 ? null : "PTRACE_GET_RSEQ_CONFIGURATION: " + errno(r);
                    // No filter installed: EINVAL or ENOENT when the request exists, EIO when it does not.
                    r = Sys.raw(Nr.PTRACE, PTRACE_SECCOMP_GET_FILTER, pid, 0, 0);
                    filter = (r >= 0 || r == -Errno.EINVAL || r == -Errno.ENOENT) ? null
                            : "PTRACE_SECCOMP_GET_FILTER: " + errno(r);
                } finally {
                    t.kill();
                }
                return new PtraceFacts(seize, suspend, rseq, filter);
            });
        } finally {
            reap(pid);
        }
    }

    private static void reap(int pid) {
        try {
            Sys.kill(pid, Linux.SIGKILL);
        } catch (ErrnoException e) {
            // already gone and reaped by Task.kill
        }
        try {
            Sys.waitpid(pid, Linux.__WALL);
        } catch (ErrnoException e) {
            // ECHILD: reaped already
        }
    }

    static String ptraceSeize() {
        return ptrace().seize() == null ? null : "PTRACE_SEIZE: " + ptrace().seize();
    }

    static String seccompSuspend() {
        return ptrace().suspendSeccomp();
    }

    static String getRseqConf() {
        return ptrace().rseq();
    }

    static String seccompFilters() {
        return ptrace().seccompFilter();
    }

    // ---- /proc

    static String mapFiles() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            String[] f = line.split("\\s+", 6);
            if (f.length < 6 || !f[5].startsWith("/")) continue;
            // map_files names are "%lx-%lx": no zero padding, unlike /proc/PID/maps
            String[] range = f[0].split("-");
            String name = Long.toHexString(Long.parseUnsignedLong(range[0], 16)) + "-"
                    + Long.toHexString(Long.parseUnsignedLong(range[1], 16));
            try {
                Sys.readlink("/proc/self/map_files/" + name);
                return null;
            } catch (ErrnoException e) {
                return "/proc/self/map_files: " + e.getMessage();
            }
        }
        return "/proc/self/maps has no file mapping to try";
    }

    static String nsLastPid() {
        Path p = Path.of("/proc/sys/kernel/ns_last_pid");
        if (!Files.exists(p)) return p + " does not exist";
        if (!Files.isWritable(p)) return p + " is not writable";
        return null;
    }

    static String procPidMem() {
        int fd = Sys.open("/proc/self/mem", Linux.O_RDONLY, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(8, 8), dst = a.allocate(8, 8);
            src.set(JAVA_LONG, 0, 0x6a637269756d656dL);
            Sys.pread(fd, dst, 8, src.address());
            return dst.get(JAVA_LONG, 0) == src.get(JAVA_LONG, 0) ? null : "/proc/self/mem read wrong bytes";
        } finally {
            Sys.close(fd);
        }
    }

    static String mntId() throws IOException {
        int fd = Sys.open("/proc/self/maps", Linux.O_RDONLY, 0);
        try {
            String info = Files.readString(Path.of("/proc/self/fdinfo/" + fd));
            return info.contains("mnt_id:") ? null : "/proc/PID/fdinfo has no mnt_id";
        } finally {
            Sys.close(fd);
        }
    }

    static String timens() {
        return exists("/proc/self/ns/time");
    }

    static String userns() {
        return exists("/proc/self/ns/user");
    }

    static String cgroupns() {
        return exists("/proc/self/ns/cgroup");
    }

    static String loginuid() {
        return exists("/proc/self/loginuid");
    }

    static String nsPid() throws IOException {
        return Files.readString(Path.of("/proc/self/status")).contains("\nNSpid:") ? null
                : "/proc/PID/status has no NSpid";
    }

    private static String exists(String p) {
        return Files.exists(Path.of(p)) ? null : p + " does not exist";
    }

    // ---- syscalls

    static String processVmReadv() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(8, 8), dst = a.allocate(8, 8);
            src.set(JAVA_LONG, 0, 0x1122334455667788L);
            Sys.processVmReadv(Sys.getpid(), dst, src.address(), 8);
            return dst.get(JAVA_LONG, 0) == src.get(JAVA_LONG, 0) ? null : "process_vm_readv read wrong bytes";
        }
    }

    static String pidfdOpen() {
        Sys.close(Sys.pidfdOpen(Sys.getpid()));
        return null;
    }

    static String pidfdGetfd() {
        int pidfd = Sys.pidfdOpen(Sys.getpid());
        try {
            Sys.close(Sys.pidfdGetfd(pidfd, pidfd));
            return null;
        } finally {
            Sys.close(pidfd);
        }
    }

    static String pidfdStore() {
        String m = pidfdOpen();
        return m != null ? m : pidfdGetfd();
    }

    /**
     * clone3 with a set_tid of -1: a kernel that knows set_tid rejects the pid with EINVAL
     * before any task is created; an older one rejects the larger struct with E2BIG, or has no
     * clone3 (ENOSYS). Nothing is ever forked from the JVM here.
     */
    static String clone3SetTid() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment args = a.allocate(Linux.CLONE_ARGS_SIZE_VER2, 8);
            MemorySegment tid = a.allocate(JAVA_INT);
            tid.set(JAVA_INT, 0, -1);
            args.set(JAVA_LONG, 32, Linux.SIGCHLD);
            args.set(JAVA_LONG, 64, tid.address());
            args.set(JAVA_LONG, 72, 1);
            long r = Sys.raw(Nr.CLONE3, args.address(), Linux.CLONE_ARGS_SIZE_VER2);
            if (r == -Errno.EINVAL) return null;
            if (r >= 0) throw new IllegalStateException("clone3 probe created a task " + r);
            return "clone3 with set_tid: " + errno(r);
        }
    }

    static String kcmp() {
        int pid = Sys.getpid();
        long r = Sys.raw(Nr.KCMP, pid, pid, KCMP_VM, 0, 0);
        return r == 0 ? null : "kcmp(KCMP_VM): " + (r < 0 ? errno(r) : "returned " + r);
    }

    static String memfd() {
        return memfdCreate(MFD_CLOEXEC);
    }

    static String memfdHugetlb() {
        return memfdCreate(MFD_CLOEXEC | MFD_HUGETLB);
    }

    private static String memfdCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            long r = Sys.raw(Nr.MEMFD_CREATE, a.allocateFrom("jcriu-check").address(), flags);
            if (r < 0) return "memfd_create(0x" + Integer.toHexString(flags) + "): " + errno(r);
            Sys.close((int) r);
            return null;
        }
    }

    static String openat2() {
        try (Arena a = Arena.ofConfined()) {
            // A NULL open_how of size 0 is rejected by argument checks when openat2 exists.
            long r = Sys.raw(NR_OPENAT2, Linux.AT_FDCWD, a.allocateFrom("/").address(), 0, 0);
            if (r >= 0) Sys.close((int) r);
            return r == -Errno.ENOSYS ? "openat2: " + errno(r) : null;
        }
    }

    // ---- userfaultfd and pagemap

    /** The UFFD_FEATURE_* bits this kernel offers, from UFFDIO_API with no features requested. */
    private static long uffdFeatures() {
        long fd = Sys.raw(Nr.USERFAULTFD, Linux.O_CLOEXEC | Linux.O_NONBLOCK);
        if (fd < 0) throw new ErrnoException((int) -fd, "userfaultfd");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment api = a.allocate(24, 8);
            api.set(JAVA_LONG, 0, UFFD_API);
            Sys.check("ioctl(UFFDIO_API)", Nr.IOCTL, fd, UFFDIO_API, api.address());
            return api.get(JAVA_LONG, 8);
        } finally {
            Sys.close((int) fd);
        }
    }

    static String uffd() {
        uffdFeatures();
        return null;
    }

    static String uffdNoncoop() {
        long need = UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_UNMAP
                | UFFD_FEATURE_EVENT_REMOVE;
        long have = uffdFeatures();
        return (have & need) == need ? null
                : "userfaultfd lacks non-cooperative events (features 0x" + Long.toHexString(have) + ")";
    }

    static String uffdWp() {
        long have = uffdFeatures();
        return (have & UFFD_FEATURE_PAGEFAULT_FLAG_WP) != 0 ? null
                : "userfaultfd has no write-protect (features 0x" + Long.toHexString(have) + ")";
    }

    /**
     * Async write-protect (6.7+), with markers for anonymous memory, and PAGEMAP_SCAN to read it:
     * what pre-dump tracks written pages with where there is no soft-dirty bit.
     */
    static String uffdWpAsync() {
        long need = 1L << 15 | 1L << 13; // UFFD_FEATURE_WP_ASYNC, UFFD_FEATURE_WP_UNPOPULATED
        long have = uffdFeatures();
        if ((have & need) != need) {
            return "userfaultfd has no async write-protect (WP_ASYNC, WP_UNPOPULATED; features 0x" + Long.toHexString(have) + ")";
        }
        return pagemapScan();
    }

    /** PAGEMAP_SCAN over one page of ours asking for {@code category}: 0 when the kernel knows it. */
    private static long pagemapScan(long category) {
        int fd = Sys.open("/proc/self/pagemap", Linux.O_RDONLY, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment page = a.allocate(Linux.PAGE_SIZE, Linux.PAGE_SIZE);
            page.set(JAVA_LONG, 0, 1);
            MemorySegment arg = a.allocate(96, 8);
            MemorySegment vec = a.allocate(24 * 4, 8);
            arg.set(JAVA_LONG, 0, 96);                        // size
            arg.set(JAVA_LONG, 16, page.address());           // start
            arg.set(JAVA_LONG, 24, page.address() + Linux.PAGE_SIZE); // end
            arg.set(JAVA_LONG, 40, vec.address());            // vec
            arg.set(JAVA_LONG, 48, 4);                        // vec_len
            arg.set(JAVA_LONG, 72, category);                 // category_mask
            arg.set(JAVA_LONG, 88, category);                 // return_mask
            return Sys.raw(Nr.IOCTL, fd, PAGEMAP_SCAN, arg.address());
        } finally {
            Sys.close(fd);
        }
    }

    static String pagemapScan() {
        long r = pagemapScan(PAGE_IS_WRITTEN);
        return r >= 0 ? null : "ioctl(PAGEMAP_SCAN): " + errno(r);
    }

    static String pagemapScanGuard() {
        long r = pagemapScan(PAGE_IS_GUARD);
        return r >= 0 ? null : "ioctl(PAGEMAP_SCAN, PAGE_IS_GUARD): " + errno(r);
    }

    /**
     * criu's mem_dirty_track asks whether pre-dump can tell the pages written since: criu has only
     * soft-dirty for that, jcriu also tracks with an async userfaultfd write-protect (P.Haul and LXC
     * ask this before choosing to pre-dump; runc asks the RPC twin, mem_track).
     */
    static String memDirtyTrack() throws IOException {
        String softDirty = softDirty();
        if (softDirty == null) return null;
        String wp = uffdWpAsync();
        return wp == null ? null : softDirty + "; " + wp;
    }

    /**
     * Soft-dirty bits: clear them, write a page, and see whether /proc/self/pagemap reports it
     * dirty (kernels without CONFIG_MEM_SOFT_DIRTY never set bit 55).
     */
    static String softDirty() throws IOException {
        Files.writeString(Path.of("/proc/self/clear_refs"), "4");
        int fd = Sys.open("/proc/self/pagemap", Linux.O_RDONLY, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment page = a.allocate(Linux.PAGE_SIZE, Linux.PAGE_SIZE);
            page.set(JAVA_LONG, 0, 42);
            MemorySegment pme = a.allocate(8, 8);
            Sys.pread(fd, pme, 8, page.address() / Linux.PAGE_SIZE * 8);
            return (pme.get(JAVA_LONG, 0) & PM_SOFT_DIRTY) != 0 ? null
                    : "no soft-dirty bit in /proc/PID/pagemap (CONFIG_MEM_SOFT_DIRTY)";
        } finally {
            Sys.close(fd);
        }
    }

    private static String errno(long r) {
        int e = (int) -r;
        return Errno.describe(e) + " (" + Errno.name(e) + ")";
    }
}

package org.jcriu.predump;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * The userfaultfd and PAGEMAP_SCAN ioctls the write tracker needs (uapi linux/userfaultfd.h and
 * linux/fs.h; this machine's headers predate PAGEMAP_SCAN, so the numbers are here). The uffd
 * ioctls act on the mm the uffd was created in, whoever holds the fd: jcriu creates it inside the
 * task and drives it from outside.
 */
final class Uffd {
    static final long UFFD_API = 0xAA;
    /** userfaultfd(2) flag: only faults from user mode; needs no CAP_SYS_PTRACE when vm.unprivileged_userfaultfd is 0. */
    static final long UFFD_USER_MODE_ONLY = 1;
    /** Async write-protect: a write to a protected page just clears the bit, nobody is woken (6.7+). */
    static final long UFFD_FEATURE_WP_ASYNC = 1L << 15;
    /**
     * Markers in empty ptes of anonymous memory, so PAGEMAP_SCAN accepts anonymous areas at all
     * (pagemap_scan_test_walk wants userfaultfd_wp_use_markers).
     */
    static final long UFFD_FEATURE_WP_UNPOPULATED = 1L << 13;
    static final long UFFDIO_API = 0xc018aa3fL, UFFDIO_REGISTER = 0xc020aa00L, UFFDIO_UNREGISTER = 0x8010aa01L;
    static final long UFFDIO_REGISTER_MODE_WP = 1L << 1;
    /** _IOWR('f', 16, struct pm_scan_arg): 96-byte argument; page_region is 24 bytes. */
    static final long PAGEMAP_SCAN = 0xc0606610L;
    static final long PM_SCAN_WP_MATCHING = 1, PM_SCAN_CHECK_WPASYNC = 1L << 1;
    static final long PAGE_IS_WRITTEN = 1L << 1, PAGE_IS_PRESENT = 1L << 3, PAGE_IS_SWAPPED = 1L << 4;
    private static final int ARG_SIZE = 96, REGION = 24, VEC_LEN = 4096;

    private Uffd() {}

    /** UFFDIO_API with async write-protect; throws naming the missing feature. */
    static void api(int fd, String who) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment api = a.allocate(24, 8);
            api.set(JAVA_LONG, 0, UFFD_API);
            api.set(JAVA_LONG, 8, UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED);
            ErrnoException.check(Sys.raw(Nr.IOCTL, fd, UFFDIO_API, api.address()), "ioctl(UFFDIO_API, WP_ASYNC|WP_UNPOPULATED) " + who);
        }
    }

    /** UFFDIO_REGISTER in write-protect mode; the raw result (0 or -errno). Registering again with the same uffd is a no-op. */
    static long register(int fd, long start, long end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment reg = a.allocate(32, 8);
            reg.set(JAVA_LONG, 0, start);
            reg.set(JAVA_LONG, 8, end - start);
            reg.set(JAVA_LONG, 16, UFFDIO_REGISTER_MODE_WP);
            return Sys.raw(Nr.IOCTL, fd, UFFDIO_REGISTER, reg.address());
        }
    }

    /** UFFDIO_UNREGISTER: the kernel clears the protection bits of the range with the registration. */
    static long unregister(int fd, long start, long end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = a.allocate(16, 8);
            r.set(JAVA_LONG, 0, start);
            r.set(JAVA_LONG, 8, end - start);
            return Sys.raw(Nr.IOCTL, fd, UFFDIO_UNREGISTER, r.address());
        }
    }

    /**
     * The pages of [start, end) written since they were last protected, as [start, end) pairs in
     * address order, and, with {@code protect}, every such page protected again in the same walk.
     * Without {@code protect} only PAGE_IS_WRITTEN is asked for, which takes the kernel's fast
     * path: a pte without the protection bit is reported written, empty ones included (they have
     * no data, the dump's scan leaves them out). With {@code protect}, only present or swapped
     * pages are asked for: the fast paths would also protect empty ptes, with a pte marker that
     * /proc/PID/pagemap then shows as a swapped page (PM_SWAP | PM_UFFD_WP, no data) and the dump
     * would save; an empty pte needs no protection (whatever fills it has no protection bit, so it
     * counts as written). {@code report} false: nothing is collected (the first arming).
     * Returns null when the kernel refuses the range because it is not (or no longer entirely)
     * async write-protected (EPERM).
     */
    static List<long[]> written(int pagemapFd, long start, long end, boolean protect, boolean report) {
        List<long[]> out = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment arg = a.allocate(ARG_SIZE, 8);
            // a vector always: without one PM_SCAN_WP_MATCHING protects every pte of the range, empty ones too
            MemorySegment vec = a.allocate((long) REGION * VEC_LEN, 8);
            long from = start;
            while (Long.compareUnsigned(from, end) < 0) {
                arg.fill((byte) 0);
                arg.set(JAVA_LONG, 0, ARG_SIZE);
                arg.set(JAVA_LONG, 8, PM_SCAN_CHECK_WPASYNC | (protect ? PM_SCAN_WP_MATCHING : 0));
                arg.set(JAVA_LONG, 16, from);
                arg.set(JAVA_LONG, 24, end);
                arg.set(JAVA_LONG, 40, vec.address());
                arg.set(JAVA_LONG, 48, VEC_LEN);
                arg.set(JAVA_LONG, 72, PAGE_IS_WRITTEN); // category_mask
                if (protect) arg.set(JAVA_LONG, 80, PAGE_IS_PRESENT | PAGE_IS_SWAPPED); // category_anyof_mask
                arg.set(JAVA_LONG, 88, PAGE_IS_WRITTEN); // return_mask
                long n = Sys.raw(Nr.IOCTL, pagemapFd, PAGEMAP_SCAN, arg.address());
                if (n == -Errno.EPERM) return null;
                ErrnoException.check(n, String.format("ioctl(PAGEMAP_SCAN, PAGE_IS_WRITTEN) over 0x%x-0x%x", from, end));
                for (int i = 0; report && i < n; i++) {
                    long s = vec.get(JAVA_LONG, (long) i * REGION), e = vec.get(JAVA_LONG, (long) i * REGION + 8);
                    int last = out.size() - 1;
                    if (last >= 0 && out.get(last)[1] == s) out.get(last)[1] = e;
                    else out.add(new long[] {s, e});
                }
                long walkEnd = arg.get(JAVA_LONG, 32);
                if (Long.compareUnsigned(walkEnd, from) <= 0 || Long.compareUnsigned(walkEnd, end) >= 0) break;
                from = walkEnd;
            }
        }
        return out;
    }

    /** A uffd of jcriu's own with async write-protect: whether this kernel can track writes that way. */
    static String probe() {
        long fd = Sys.raw(Nr.USERFAULTFD, Linux.O_CLOEXEC | Linux.O_NONBLOCK | UFFD_USER_MODE_ONLY);
        if (fd < 0) return "userfaultfd: " + Errno.name((int) -fd);
        try {
            api((int) fd, "(probe)");
            return null;
        } catch (ErrnoException e) {
            return e.getMessage();
        } finally {
            Sys.close((int) fd);
        }
    }
}

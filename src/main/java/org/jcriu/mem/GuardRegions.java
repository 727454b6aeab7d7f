package org.jcriu.mem;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * madvise(MADV_GUARD_INSTALL) ranges of a task. Guard pages live in the page tables, not in any
 * VMA, so /proc/PID/maps does not show them; the kernel reports them through the PAGEMAP_SCAN
 * ioctl on /proc/PID/pagemap (category PAGE_IS_GUARD, kernel 6.14+). CRIU saves each range as an
 * extra vma_entry whose status is exactly VMA_AREA_GUARD, after the real VMAs.
 */
public final class GuardRegions {
    private static final Logger LOG = Log.get("mem");
    public static final int MADV_GUARD_INSTALL = 102;
    /** _IOWR('f', 16, struct pm_scan_arg): 96-byte argument. */
    private static final long PAGEMAP_SCAN = 0xC0606610L;
    private static final long PAGE_IS_GUARD = 1L << 8;
    /** struct pm_scan_arg: size, flags, start, end, walk_end, vec, vec_len, max_pages, 4 masks. */
    private static final int ARG_SIZE = 96, REGION_SIZE = 24, VEC_LEN = 512;
    private static final long TASK_SIZE = 0x7ffffffff000L;

    public record Range(long start, long end) {}

    private GuardRegions() {}

    /** The guard ranges of {@code pid}, or none when the kernel cannot report them (logged). */
    public static List<Range> scan(int pid) {
        List<Range> out = new ArrayList<>();
        int fd = Sys.open("/proc/" + pid + "/pagemap", Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment arg = a.allocate(ARG_SIZE, 8);
            MemorySegment vec = a.allocate((long) REGION_SIZE * VEC_LEN, 8);
            long walkEnd = 0;
            while (Long.compareUnsigned(walkEnd, TASK_SIZE) < 0) {
                arg.fill((byte) 0);
                arg.set(JAVA_LONG, 0, ARG_SIZE);
                arg.set(JAVA_LONG, 16, walkEnd);
                arg.set(JAVA_LONG, 24, TASK_SIZE);
                arg.set(JAVA_LONG, 40, vec.address());
                arg.set(JAVA_LONG, 48, VEC_LEN);
                arg.set(JAVA_LONG, 72, PAGE_IS_GUARD);  // category_mask: only guard pages
                arg.set(JAVA_LONG, 88, PAGE_IS_GUARD);  // return_mask
                long n = Sys.raw(Nr.IOCTL, fd, PAGEMAP_SCAN, arg.address());
                if (n == -Errno.EINVAL || n == -Errno.ENOTTY) {
                    // an older kernel: no PAGEMAP_SCAN or no PAGE_IS_GUARD category, so no guards either way
                    LOG.debug("PAGEMAP_SCAN cannot report guard pages here (%s)", Errno.name((int) -n));
                    return out;
                }
                ErrnoException.check(n, "ioctl(/proc/" + pid + "/pagemap, PAGEMAP_SCAN)");
                for (int i = 0; i < n; i++) {
                    long s = vec.get(JAVA_LONG, (long) i * REGION_SIZE), e = vec.get(JAVA_LONG, (long) i * REGION_SIZE + 8);
                    out.add(new Range(s, e));
                }
                long next = arg.get(JAVA_LONG, 32);
                if (next == walkEnd && n == 0) break;
                walkEnd = next;
            }
        } finally {
            Sys.close(fd);
        }
        return out;
    }
}

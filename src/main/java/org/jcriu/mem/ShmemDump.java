package org.jcriu.mem;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntSupplier;

import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * Shared anonymous memory (MAP_SHARED | MAP_ANONYMOUS: a shmem file the kernel names
 * "/dev/zero (deleted)") is one object however many VMAs and tasks map it, so CRIU saves its
 * pages once per dump, by object: pagemap-shmem-SHMID.img (offsets in the object instead of
 * addresses) and its own pages-N.img, SHMID being the object's inode number as vma_entry.shmid
 * says. jcriu maps the object into itself through the task's /proc/PID/map_files link, asks
 * mincore and the object's data ranges which pages it holds (pages written through any mapping,
 * mapped here or not, in memory or in swap), and writes those. Shared hugetlb objects, which CRIU
 * dumps as memfds (VMA_AREA_MEMFD, see dump.MemfdVmas), go the same way, by inode number. One
 * instance per dump: an object seen again in another task is skipped.
 */
public final class ShmemDump {
    private static final Logger LOG = Log.get("shmem");
    private static final int ANON_SHARED = 1 << 8, SYSVIPC = 1 << 10, MEMFD = 1 << 14, MAP_HUGETLB = 0x40000;
    private final ImageDir dir;
    private final Set<Long> done = new HashSet<>();
    private final IntSupplier pagesIds;

    /** {@code pagesIds} hands out the dump's pages-N.img numbers (DumpFiles.nextPagesId: memfd contents draw from it too). */
    public ShmemDump(ImageDir dir, IntSupplier pagesIds) {
        this.dir = dir;
        this.pagesIds = pagesIds;
    }

    /** Saves every shared anonymous object {@code pid} maps that this dump has not saved yet. */
    public void dumpTask(int pid, List<VmaEntry> vmas) {
        // object -> a VMA to reach it through, and how far into it the task's VMAs reach
        Map<Long, long[]> objects = new LinkedHashMap<>();
        for (VmaEntry v : vmas) {
            if ((v.getStatus() & ANON_SHARED) == 0 || (v.getStatus() & SYSVIPC) != 0 || done.contains(v.getShmid())) continue;
            long[] o = objects.computeIfAbsent(v.getShmid(), k -> new long[] {v.getStart(), v.getEnd(), 0});
            o[2] = Math.max(o[2], v.getPgoff() + (v.getEnd() - v.getStart()));
        }
        for (var e : objects.entrySet()) {
            long[] o = e.getValue();
            dumpObject(pid, e.getKey(), o[0], o[1], o[2]);
            done.add(e.getKey());
        }
        for (VmaEntry v : vmas) {
            if ((v.getStatus() & MEMFD) == 0 || (v.getFlags() & MAP_HUGETLB) == 0) continue;
            String link = String.format("/proc/%d/map_files/%x-%x", pid, v.getStart(), v.getEnd());
            Stat st;
            try {
                st = Sys.stat(link);
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), "Can't stat hugetlb object of task " + pid + " (" + link + "): " + e.getMessage());
            }
            if (done.add(st.ino())) dumpHugetlbObject(pid, st.ino(), link, st.size());
        }
    }

    /**
     * The pages of a shared hugetlb object (dumped as a memfd, CRIU's VMA_AREA_MEMFD). Neither
     * mincore (hugetlb answers from the caller's own page table only) nor the data ranges
     * (hugetlbfs reports the whole file as data) tell which huge pages the object holds, but
     * read() of hugetlbfs returns zeros for a hole without allocating anything: the object is
     * read whole and only its non-zero pages are saved (a zero page comes back as a hole, which
     * reads the same). CRIU saves every page of it.
     */
    private void dumpHugetlbObject(int pid, long shmid, String link, long size) {
        int fd;
        try {
            fd = Sys.open(link, Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't open hugetlb object " + shmid + " of task " + pid + " (" + link + "): " + e.getMessage());
        }
        int pagesId = pagesIds.getAsInt();
        long written = 0, chunk = 4L << 20;
        try (Arena arena = Arena.ofConfined();
             ImageWriter pm = dir.create(ImageType.SHMEM_PAGEMAP, shmid);
             FileChannel ch = FileChannel.open(dir.path(ImageType.PAGES, pagesId), StandardOpenOption.CREATE,
                     StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            pm.write(PagemapHead.newBuilder().setPagesId(pagesId).build());
            MemorySegment buf = arena.allocate(chunk, Linux.PAGE_SIZE);
            long runStart = -1, runEnd = -1;
            for (long off = 0; off < size; off += chunk) {
                long len = Math.min(chunk, size - off), got = 0;
                while (got < len) {
                    long n = Sys.pread(fd, buf.asSlice(got), len - got, off + got);
                    if (n == 0) break;
                    got += n;
                }
                for (long p = 0; p < got; p += Linux.PAGE_SIZE) {
                    MemorySegment page = buf.asSlice(p, Math.min(Linux.PAGE_SIZE, got - p));
                    if (zero(page)) continue;
                    long at = off + p;
                    if (at != runEnd) {
                        if (runStart >= 0) pm.write(entry(runStart, runEnd));
                        runStart = at;
                    }
                    runEnd = at + Linux.PAGE_SIZE;
                    var bb = buf.asSlice(p, Linux.PAGE_SIZE).asByteBuffer();
                    while (bb.hasRemaining()) ch.write(bb);
                    written++;
                }
            }
            if (runStart >= 0) pm.write(entry(runStart, runEnd));
        } catch (IOException e) {
            throw new CriuException("Can't write the pages of hugetlb object " + shmid + ": " + e.getMessage(), e);
        } finally {
            Sys.close(fd);
        }
        LOG.info("shared hugetlb object %d of task %d: %d of %d pages into pages-%d.img", shmid, pid, written, size / Linux.PAGE_SIZE,
                pagesId);
    }

    private static PagemapEntry entry(long start, long end) {
        return PagemapEntry.newBuilder().setVaddr(start).setCompatNrPages(0).setFlags(PageRun.PE_PRESENT)
                .setNrPages((end - start) / Linux.PAGE_SIZE).build();
    }

    private static boolean zero(MemorySegment page) {
        long n = page.byteSize() / 8;
        for (long i = 0; i < n; i++) if (page.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i) != 0) return false;
        for (long i = n * 8; i < page.byteSize(); i++) if (page.get(JAVA_BYTE, i) != 0) return false;
        return true;
    }

    /**
     * mincore sees only the object's pages in memory (or still in the swap cache): a page that
     * went out to swap and was dropped is in no page table either. The object's data ranges
     * (lseek SEEK_DATA/SEEK_HOLE: shmem counts swap entries as data) cover those too, so their
     * pages are marked as well; reading them through the mapping brings them back in.
     */
    private static void markSwapped(int fd, long size, MemorySegment vec) {
        final long seekData = 3, seekHole = 4;
        long off = 0;
        while (off < size) {
            long data = Sys.raw(Nr.LSEEK, fd, off, seekData);
            if (data < 0 || data >= size) return; // -ENXIO: no data after off
            long hole = Sys.raw(Nr.LSEEK, fd, data, seekHole);
            if (hole < 0 || hole > size) hole = size;
            for (long p = data / Linux.PAGE_SIZE; p < (hole + Linux.PAGE_SIZE - 1) / Linux.PAGE_SIZE; p++) vec.set(JAVA_BYTE, p, (byte) 1);
            off = hole;
        }
    }

    private void dumpObject(int pid, long shmid, long vmaStart, long vmaEnd, long size) {
        String link = String.format("/proc/%d/map_files/%x-%x", pid, vmaStart, vmaEnd);
        int fd;
        try {
            fd = Sys.open(link, Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't open shared memory object " + shmid + " of task " + pid + " (" + link + "): " + e.getMessage());
        }
        long addr = 0;
        try (Arena arena = Arena.ofConfined()) {
            addr = Sys.check("mmap(" + link + ")", Nr.MMAP, 0, size, Linux.PROT_READ, Linux.MAP_SHARED, fd, 0);
            long pages = size / Linux.PAGE_SIZE;
            MemorySegment vec = arena.allocate(pages);
            Sys.check("mincore(" + link + ")", Nr.MINCORE, addr, size, vec.address());
            markSwapped(fd, size, vec);
            MemorySegment obj = MemorySegment.ofAddress(addr).reinterpret(size);
            int pagesId = pagesIds.getAsInt();
            long written = 0;
            try (ImageWriter pm = dir.create(ImageType.SHMEM_PAGEMAP, shmid);
                 FileChannel ch = FileChannel.open(dir.path(ImageType.PAGES, pagesId), StandardOpenOption.CREATE,
                         StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                pm.write(PagemapHead.newBuilder().setPagesId(pagesId).build());
                for (long i = 0; i < pages; ) {
                    if ((vec.get(JAVA_BYTE, i) & 1) == 0) {
                        i++;
                        continue;
                    }
                    long j = i;
                    while (j < pages && (vec.get(JAVA_BYTE, j) & 1) != 0) j++;
                    pm.write(PagemapEntry.newBuilder().setVaddr(i * Linux.PAGE_SIZE).setCompatNrPages(0)
                            .setFlags(PageRun.PE_PRESENT).setNrPages(j - i).build());
                    var bb = obj.asSlice(i * Linux.PAGE_SIZE, (j - i) * Linux.PAGE_SIZE).asByteBuffer();
                    while (bb.hasRemaining()) ch.write(bb);
                    written += j - i;
                    i = j;
                }
            } catch (IOException e) {
                throw new CriuException("Can't write the pages of shared memory object " + shmid + ": " + e.getMessage(), e);
            }
            LOG.info("shared memory object %d of task %d: %d of %d pages into pages-%d.img", shmid, pid, written, pages, pagesId);
        } finally {
            if (addr != 0) Sys.raw(Nr.MUNMAP, addr, size);
            Sys.close(fd);
        }
    }
}

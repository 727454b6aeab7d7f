package org.jcriu.dump;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * Reads /proc/PID/pagemap for the areas whose pages are saved and returns the page runs to dump,
 * coalesced as CRIU's pagemap entries are (contiguous pages with the same flags, across area
 * boundaries). What is saved (criu/mem.c should_dump_page, as facts): the whole vDSO; present or
 * swapped pages, but not the shared zero page, and in private file mappings only pages that are no longer the
 * file's (copied on write: present without the file bit) or swapped.
 */
public final class PageScan {
    public static final int PE_PARENT = 1, PE_LAZY = 1 << 1, PE_PRESENT = 1 << 2;
    private static final long PME_PRESENT = 1L << 63, PME_SWAP = 1L << 62, PME_FILE = 1L << 61;
    /** A MADV_GUARD_INSTALL page: a marker the kernel reports like a swap entry, with no data behind it. */
    private static final long PME_GUARD_REGION = 1L << 58;
    private static final long PFN_MASK = (1L << 55) - 1;
    /** Pagemap entries read per pread: 8 MiB of entries cover 4 GiB of address space. */
    private static final int BATCH = 1 << 20;

    /** A run of pages: {@code nrPages} pages from {@code vaddr}, pagemap flags {@code flags}. */
    public record Run(long vaddr, long nrPages, int flags) {
        public PagemapEntry entry() {
            return PagemapEntry.newBuilder().setVaddr(vaddr).setCompatNrPages(0).setFlags(flags).setNrPages(nrPages).build();
        }
    }

    /** {@code pagesWritten}: the pages file already holds the PE_PRESENT pages (an incremental dump compared and wrote them). */
    public record Result(List<Run> runs, long pagesScanned, long pagesToWrite, boolean pagesWritten) {
        public Result(List<Run> runs, long pagesScanned, long pagesToWrite) {
            this(runs, pagesScanned, pagesToWrite, false);
        }
    }

    private static volatile long zeroPfn = -1;

    private PageScan() {}

    public static Result scan(int pid, List<VmaPlan.Area> areas) {
        long zero = zeroPfn();
        List<Run> runs = new ArrayList<>();
        long scanned = 0, total = 0;
        long runStart = 0, runLen = 0;
        int runFlags = 0;
        Path pm = Path.of("/proc", Integer.toString(pid), "pagemap");
        ByteBuffer buf = ByteBuffer.allocateDirect(Math.min(BATCH, maxPages(areas)) * 8).order(ByteOrder.nativeOrder());
        try (FileChannel ch = FileChannel.open(pm, StandardOpenOption.READ)) {
            for (VmaPlan.Area a : areas) {
                if (a.pages() == VmaPlan.Pages.NONE) continue;
                int flags = a.pages() == VmaPlan.Pages.ANON_LAZY ? PE_LAZY | PE_PRESENT : PE_PRESENT;
                boolean file = a.pages() == VmaPlan.Pages.FILE_PRIVATE;
                boolean all = a.pages() == VmaPlan.Pages.ALL;
                long pages = (a.end() - a.start()) / Linux.PAGE_SIZE;
                for (long done = 0; done < pages; ) {
                    int n = (int) Math.min(pages - done, buf.capacity() / 8);
                    long vaddr = a.start() + done * Linux.PAGE_SIZE;
                    buf.clear().limit(n * 8);
                    long pos = (vaddr / Linux.PAGE_SIZE) * 8;
                    while (buf.hasRemaining()) {
                        int r = ch.read(buf, pos + buf.position());
                        if (r <= 0) throw new CriuException("Short read of " + pm + " at byte " + (pos + buf.position()));
                    }
                    LongBuffer lb = buf.flip().order(ByteOrder.nativeOrder()).asLongBuffer();
                    for (int i = 0; i < n; i++) {
                        long pme = lb.get(i);
                        boolean dump;
                        if ((pme & PME_GUARD_REGION) != 0) dump = false;
                        else if (all || (pme & PME_SWAP) != 0) dump = true;
                        else if ((pme & PME_PRESENT) == 0) dump = false;
                        else if (file) dump = (pme & PME_FILE) == 0;
                        else dump = (pme & PFN_MASK) != zero || zero == 0;
                        // CRIU 4.2 scans with PAGEMAP_SCAN for present or swapped pages that are
                        // not the file's (zero pages included): those are its pages_scanned.
                        if (dump || ((pme & (PME_PRESENT | PME_SWAP)) != 0 && (pme & (PME_FILE | PME_GUARD_REGION)) == 0)) scanned++;
                        if (!dump) continue;
                        long va = vaddr + (long) i * Linux.PAGE_SIZE;
                        if (runLen > 0 && runFlags == flags && runStart + runLen * Linux.PAGE_SIZE == va) {
                            runLen++;
                        } else {
                            if (runLen > 0) runs.add(new Run(runStart, runLen, runFlags));
                            runStart = va;
                            runLen = 1;
                            runFlags = flags;
                        }
                        total++;
                    }
                    done += n;
                }
            }
        } catch (IOException e) {
            throw new CriuException("Can't read " + pm + ": " + e.getMessage(), e);
        }
        if (runLen > 0) runs.add(new Run(runStart, runLen, runFlags));
        return new Result(runs, scanned, total);
    }

    /**
     * The scan with the pages the parent images already hold turned into PE_PARENT entries, for a
     * dump of a frozen tree with --track-mem and a parent ({@code inc} null: unchanged). The
     * task's change tracking starts again from here. When the pages are compared with the parent's,
     * the changed ones are written into {@code pagesFile} on the way (they are in hand), and the
     * result says so: the dump's page writer need not read them again.
     */
    public static Result againstParent(org.jcriu.predump.Incremental inc, int pid, Result scan,
            List<org.jcriu.image.proto.VmaEntry> vmas, Path pagesFile) {
        if (inc == null) return scan;
        List<org.jcriu.mem.PageRun> in = new ArrayList<>(scan.runs().size());
        for (Run r : scan.runs()) in.add(new org.jcriu.mem.PageRun(r.vaddr(), r.nrPages(), r.flags(), 0));
        org.jcriu.predump.Incremental.Pages p;
        boolean written = inc.writesPages();
        if (written) {
            try (FileChannel ch = FileChannel.open(pagesFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                p = inc.pages(pid, in, vmas, ch, false);
            } catch (IOException e) {
                throw new CriuException("Can't write " + pagesFile + ": " + e.getMessage(), e);
            }
        } else {
            p = inc.pages(pid, in, vmas, null, false);
        }
        inc.resetTracking(pid);
        List<Run> out = new ArrayList<>(p.runs().size());
        for (org.jcriu.mem.PageRun r : p.runs()) out.add(new Run(r.vaddr(), r.nrPages(), r.flags()));
        return new Result(out, scan.pagesScanned(), p.written(), written);
    }

    private static int maxPages(List<VmaPlan.Area> areas) {
        long m = 1;
        for (VmaPlan.Area a : areas) m = Math.max(m, (a.end() - a.start()) / Linux.PAGE_SIZE);
        return (int) Math.min(m, BATCH);
    }

    /**
     * The PFN of the kernel's shared zero page, which backs anonymous pages that were read but
     * never written: found by reading a fresh anonymous page of our own and asking our pagemap.
     * 0 when the kernel hides PFNs (then zero pages are saved like any other).
     */
    static long zeroPfn() {
        long z = zeroPfn;
        if (z >= 0) return z;
        long addr = Sys.check("mmap(zero page probe)", Nr.MMAP, 0, Linux.PAGE_SIZE, Linux.PROT_READ,
                Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS, -1, 0);
        try (Arena a = Arena.ofConfined()) {
            // A read through process_vm_readv faults the page in for reading, which maps the
            // zero page, without touching raw addresses from Java.
            MemorySegment probe = a.allocate(8, 8);
            Sys.processVmReadv(Sys.getpid(), probe, addr, 8);
            int fd = Sys.open("/proc/self/pagemap", Linux.O_RDONLY, 0);
            try {
                Sys.pread(fd, probe, 8, (addr / Linux.PAGE_SIZE) * 8);
            } finally {
                Sys.close(fd);
            }
            long pme = probe.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
            z = (pme & PME_PRESENT) != 0 ? pme & PFN_MASK : 0;
        } finally {
            Sys.raw(Nr.MUNMAP, addr, Linux.PAGE_SIZE);
        }
        zeroPfn = z;
        return z;
    }
}

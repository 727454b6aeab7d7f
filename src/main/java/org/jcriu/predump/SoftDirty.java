package org.jcriu.predump;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.mem.PageRun;

/**
 * The kernel's soft-dirty tracking (CONFIG_MEM_SOFT_DIRTY), as CRIU uses it: writing "4" to
 * /proc/PID/clear_refs clears bit 55 of every pagemap entry and write-protects the pages; the
 * next write to a page sets the bit again. Only used where {@code check --feature
 * soft_dirty} finds the bit.
 */
final class SoftDirty {
    private static final long PM_SOFT_DIRTY = 1L << 55;
    private static final int VMA_AREA_AIORING = 1 << 13, MAP_HUGETLB = 0x40000;

    private SoftDirty() {}

    static void clear(int pid) {
        Path p = Path.of("/proc", Integer.toString(pid), "clear_refs");
        try {
            Files.writeString(p, "4");
        } catch (IOException e) {
            throw new CriuException("Can't reset the soft-dirty bits of task " + pid + " (" + p + "): " + e.getMessage(), e);
        }
    }

    /**
     * {@code runs} with every page that is clean (not written since the last clear) and that the
     * parent holds turned into PE_PARENT. AIO rings (the kernel writes them without setting the
     * bit) and hugetlb mappings are always written, as CRIU does.
     */
    static List<PageRun> split(int pid, List<PageRun> runs, ParentPages parent, List<VmaEntry> vmas) {
        List<PageRun> out = new ArrayList<>();
        Path pm = Path.of("/proc", Integer.toString(pid), "pagemap");
        Untracked untracked = new Untracked(vmas);
        try (FileChannel ch = FileChannel.open(pm, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(8 << 10).order(ByteOrder.nativeOrder());
            for (PageRun r : runs) {
                long start = r.vaddr(), n = 0;
                int flags = -1;
                for (long i = 0; i < r.nrPages(); i++) {
                    long va = r.vaddr() + i * PageRun.PAGE_SIZE;
                    if (i % 1024 == 0) {
                        buf.clear().limit((int) Math.min(1024, r.nrPages() - i) * 8);
                        long pos = va / PageRun.PAGE_SIZE * 8;
                        while (buf.hasRemaining()) {
                            if (ch.read(buf, pos + buf.position()) <= 0) throw new CriuException("Short read of " + pm);
                        }
                        buf.flip();
                    }
                    long pme = buf.getLong((int) (i % 1024) * 8);
                    boolean clean = (pme & PM_SOFT_DIRTY) == 0 && !untracked.contains(va) && parent.covers(va, 1);
                    int f = clean ? PageRun.PE_PARENT : r.flags();
                    if (f != flags && n > 0) {
                        out.add(new PageRun(start, n, flags, 0));
                        start = va;
                        n = 0;
                    }
                    if (n == 0) start = va;
                    flags = f;
                    n++;
                }
                if (n > 0) out.add(new PageRun(start, n, flags, 0));
            }
        } catch (IOException e) {
            throw new CriuException("Can't read " + pm + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** The areas whose writes soft-dirty does not see, looked up in address order. */
    private static final class Untracked {
        private final List<VmaEntry> areas = new ArrayList<>();

        Untracked(List<VmaEntry> vmas) {
            for (VmaEntry v : vmas) {
                if ((v.getStatus() & VMA_AREA_AIORING) != 0 || (v.getFlags() & MAP_HUGETLB) != 0) areas.add(v);
            }
        }

        boolean contains(long va) {
            for (VmaEntry v : areas) {
                if (Long.compareUnsigned(v.getStart(), va) <= 0 && Long.compareUnsigned(va, v.getEnd()) < 0) return true;
            }
            return false;
        }
    }
}

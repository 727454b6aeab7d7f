package org.jcriu.predump;

import java.lang.foreign.MemorySegment;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.mem.LocalPageSource;
import org.jcriu.mem.PageChain;
import org.jcriu.mem.PageRun;

/**
 * What the parent images hold of one task's memory, for the next dump to compare against: the
 * resolved chain and the pages files mapped read-only. Not thread-safe for {@link Cursor}s, which
 * each worker keeps its own of.
 */
final class ParentPages implements AutoCloseable {
    private final PageChain chain;
    private final LocalPageSource source;

    private ParentPages(PageChain chain) {
        this.chain = chain;
        this.source = new LocalPageSource(chain.files());
    }

    /** The parent's pages of {@code pid}, or null when the parent has no pagemap for it (a new task). */
    static ParentPages open(ImageDir parent, int pid) {
        if (!parent.exists(ImageType.PAGEMAP, pid)) return null;
        return new ParentPages(PageChain.load(parent, ImageType.PAGEMAP, pid));
    }

    /** Faults the parent's pages files in now, before a dump freezes the task to compare. */
    void populate() {
        source.populate();
    }

    PageChain chain() {
        return chain;
    }

    /** True when the parent has data for every page of [vaddr, vaddr + pages). */
    boolean covers(long vaddr, long pages) {
        long end = vaddr + pages * PageRun.PAGE_SIZE;
        int i = chain.firstEndingAfter(vaddr);
        long a = vaddr;
        while (a < end) {
            if (i >= chain.runs().size()) return false;
            PageRun r = chain.runs().get(i);
            if (Long.compareUnsigned(r.vaddr(), a) > 0) return false;
            a = r.end();
            i++;
        }
        return true;
    }

    Cursor cursor() {
        return new Cursor();
    }

    /** Walks the parent's runs forwards as a worker's pages go up in address. */
    final class Cursor {
        private int i = -1;

        /**
         * The parent's copy of the pages from {@code vaddr} on, mapped, as far as one of its runs
         * goes and at most {@code maxLen} bytes; null when the parent has no page at {@code vaddr}.
         */
        MemorySegment span(long vaddr, long maxLen) {
            PageRun r = run(vaddr);
            if (r == null) return null;
            long len = Math.min(maxLen, r.end() - vaddr);
            return source.direct(r, vaddr - r.vaddr(), len);
        }

        private PageRun run(long vaddr) {
            var runs = chain.runs();
            if (i < 0 || i >= runs.size() || Long.compareUnsigned(runs.get(i).vaddr(), vaddr) > 0) {
                i = chain.firstEndingAfter(vaddr);
            }
            while (i < runs.size() && Long.compareUnsigned(runs.get(i).end(), vaddr) <= 0) i++;
            if (i >= runs.size()) return null;
            PageRun r = runs.get(i);
            return Long.compareUnsigned(r.vaddr(), vaddr) > 0 ? null : r;
        }

        /** The parent's copy of the page at {@code vaddr}, mapped, or null when the parent has none. */
        MemorySegment page(long vaddr) {
            var runs = chain.runs();
            if (i < 0 || i >= runs.size() || Long.compareUnsigned(runs.get(i).vaddr(), vaddr) > 0) {
                i = chain.firstEndingAfter(vaddr);
            }
            while (i < runs.size() && Long.compareUnsigned(runs.get(i).end(), vaddr) <= 0) i++;
            if (i >= runs.size()) return null;
            PageRun r = runs.get(i);
            if (Long.compareUnsigned(r.vaddr(), vaddr) > 0) return null;
            return source.direct(r, vaddr - r.vaddr(), PageRun.PAGE_SIZE);
        }
    }

    @Override
    public void close() {
        source.close();
    }
}

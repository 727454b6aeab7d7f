package org.jcriu.mem;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;

/**
 * The pages of one pagemap image resolved through its chain of parent images: an incremental
 * dump marks the pages it did not copy PE_PARENT, and their data is wherever the image in the
 * {@code parent} directory (a symlink, as CRIU writes it) keeps it, which may itself say "in
 * parent". Every data-bearing page comes out as a {@link PageRun} whose {@code sourceOffset} is
 * virtual: {@code layer << LAYER_SHIFT | offset in that layer's pages file}, layer 0 being the
 * image itself and layer k its k-th ancestor. A run never spans two layers, so run arithmetic
 * elsewhere (cutting at VMA boundaries) stays valid and {@link LocalPageSource} finds the file.
 */
public final class PageChain {
    /** 1 TiB of pages per layer. */
    public static final int LAYER_SHIFT = 40;
    /** Deeper than this is a link loop rather than a chain anyone built. */
    private static final int MAX_DEPTH = 64;
    public static final String PARENT_LINK = "parent";

    private final List<PageRun> runs;
    private final int pagesId;
    private final List<Path> files;

    private PageChain(List<PageRun> runs, int pagesId, List<Path> files) {
        this.runs = runs;
        this.pagesId = pagesId;
        this.files = files;
    }

    /** Pages with data, sorted as the pagemap lists them, with virtual source offsets. */
    public List<PageRun> runs() {
        return runs;
    }

    /** pages_id of the image itself (layer 0). */
    public int pagesId() {
        return pagesId;
    }

    /** The pages file of every layer, index = layer. */
    public List<Path> files() {
        return files;
    }

    /** True when some page's data lives in a parent image. */
    public boolean usesParents() {
        for (PageRun r : runs) if (layer(r.sourceOffset()) > 0) return true;
        return false;
    }

    public static int layer(long sourceOffset) {
        return (int) (sourceOffset >>> LAYER_SHIFT);
    }

    public static long offsetInLayer(long sourceOffset) {
        return sourceOffset & ((1L << LAYER_SHIFT) - 1);
    }

    /**
     * Reads {@code type} (PAGEMAP or SHMEM_PAGEMAP) named {@code nameArg} in {@code dir} and, where
     * it says PE_PARENT, its parents; checks that every pages file holds what its pagemap lists
     * and that every page marked "in parent" is there. Errors name the image and byte offset.
     */
    public static PageChain load(ImageDir dir, ImageType type, Object nameArg) {
        java.util.Set<Path> seen = new java.util.HashSet<>();
        seen.add(real(dir.dir()));
        return load(dir, type, nameArg, 0, seen);
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    private static PageChain load(ImageDir dir, ImageType type, Object nameArg, int depth, java.util.Set<Path> seen) {
        Path pm = dir.path(type, nameArg);
        if (depth > MAX_DEPTH) throw new CriuException(pm + ": more than " + MAX_DEPTH + " parent images (a loop of parent links?)");
        List<long[]> entries = new ArrayList<>(); // vaddr, pages, flags, byte offset of the entry
        int pagesId;
        try (ImageReader r = dir.open(type, nameArg)) {
            pagesId = r.readOne(PagemapHead.parser()).getPagesId();
            long at = r.offset();
            PagemapEntry e;
            while ((e = r.read(PagemapEntry.parser())) != null) {
                long n = e.hasNrPages() ? e.getNrPages() : e.getCompatNrPages();
                int flags = e.getInParent() ? PageRun.PE_PARENT : e.hasFlags() ? e.getFlags() : PageRun.PE_PRESENT;
                if ((e.getVaddr() & (PageRun.PAGE_SIZE - 1)) != 0 || n <= 0 || n > (1L << 36)) {
                    throw new CriuException(String.format("%s at byte %d: bad pagemap entry 0x%x x %d pages", pm, at, e.getVaddr(), n));
                }
                if ((flags & PageRun.PE_PARENT) != 0 && (flags & PageRun.PE_PRESENT) != 0) {
                    throw new CriuException(String.format("%s at byte %d: pages of 0x%x are flagged both present and in parent", pm, at,
                            e.getVaddr()));
                }
                entries.add(new long[] {e.getVaddr(), n, flags, at});
                at = r.offset();
            }
        }
        Path pagesFile = dir.path(ImageType.PAGES, pagesId);
        List<PageRun> out = new ArrayList<>();
        PageChain parent = null;
        long offset = 0;
        for (long[] en : entries) {
            long vaddr = en[0], n = en[1];
            int flags = (int) en[2];
            if ((flags & PageRun.PE_PRESENT) != 0) {
                out.add(new PageRun(vaddr, n, flags, offset));
                offset += n * PageRun.PAGE_SIZE;
            } else if ((flags & PageRun.PE_PARENT) != 0) {
                if (parent == null) parent = parentOf(dir, type, nameArg, pm, en[3], vaddr, depth, seen);
                lift(parent, vaddr, n, out, pm, en[3]);
            }
            // neither: a hole with no data (CRIU's lazy-only entries on a page server); nothing to restore
        }
        checkSize(pagesFile, offset, pm);
        List<Path> files = new ArrayList<>();
        files.add(pagesFile);
        if (parent != null) files.addAll(parent.files);
        return new PageChain(List.copyOf(out), pagesId, List.copyOf(files));
    }

    private static PageChain parentOf(ImageDir dir, ImageType type, Object nameArg, Path pm, long at, long vaddr, int depth,
            java.util.Set<Path> seen) {
        Path link = dir.dir().resolve(PARENT_LINK);
        if (!Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
            throw new CriuException(String.format("%s at byte %d: pages of 0x%x are in the parent image, but %s has no '%s' link",
                    pm, at, vaddr, dir.dir(), PARENT_LINK));
        }
        if (!Files.isDirectory(link)) {
            throw new CriuException(String.format("%s at byte %d: pages of 0x%x are in the parent image, but %s does not lead to a directory",
                    pm, at, vaddr, link));
        }
        Path target = real(link);
        if (!seen.add(target)) {
            throw new CriuException(String.format("%s at byte %d: its '%s' link leads back to %s, an image already in the chain",
                    pm, at, PARENT_LINK, target));
        }
        ImageDir p = new ImageDir(target);
        if (!p.exists(type, nameArg)) {
            throw new CriuException(String.format("%s at byte %d: pages of 0x%x are in the parent image, but there is no %s",
                    pm, at, vaddr, p.path(type, nameArg)));
        }
        return load(p, type, nameArg, depth + 1, seen);
    }

    /** The parent's data for [vaddr, vaddr + n pages), one layer deeper; every page must be there. */
    private static void lift(PageChain parent, long vaddr, long n, List<PageRun> out, Path pm, long at) {
        long end = vaddr + n * PageRun.PAGE_SIZE;
        List<PageRun> pr = parent.runs;
        int i = parent.firstEndingAfter(vaddr);
        long a = vaddr;
        while (a < end) {
            if (i >= pr.size() || Long.compareUnsigned(pr.get(i).vaddr(), a) > 0) {
                throw new CriuException(String.format("%s at byte %d: page 0x%x is marked in parent, but the parent image (%s) has no data for it",
                        pm, at, a, parent.files.get(0).getParent().resolve(pm.getFileName())));
            }
            PageRun p = pr.get(i);
            long e = Math.min(end, p.end());
            long src = p.sourceOffset() + (a - p.vaddr()) + (1L << LAYER_SHIFT);
            out.add(new PageRun(a, (e - a) / PageRun.PAGE_SIZE, p.flags(), src));
            a = e;
            i++;
        }
    }

    /** Index of the first run that ends after {@code addr} (runs are sorted and disjoint). */
    public int firstEndingAfter(long addr) {
        int lo = 0, hi = runs.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(runs.get(mid).end(), addr) <= 0) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private static void checkSize(Path pages, long need, Path pm) {
        if (need == 0) return;
        long have;
        try {
            have = Files.size(pages);
        } catch (IOException e) {
            throw new CriuException("Can't open " + pages + " (pages of " + pm + "): " + CriuException.reason(e));
        }
        if (have < need) {
            throw new CriuException(String.format("%s is truncated at offset %d: %s lists %d bytes of pages", pages, have, pm, need));
        }
    }

    /**
     * The pages files of {@code pid}'s chain without resolving it (restore already has): layer 0 is
     * {@code top}, layer k the pages file that parent^k/pagemap-PID.img names, as far as the chain goes.
     */
    public static List<Path> layerFiles(ImageDir dir, ImageType type, Object nameArg, Path top) {
        List<Path> out = new ArrayList<>();
        out.add(top);
        ImageDir d = dir;
        java.util.Set<Path> seen = new java.util.HashSet<>();
        seen.add(real(dir.dir()));
        for (int k = 1; k <= MAX_DEPTH; k++) {
            Path link = d.dir().resolve(PARENT_LINK);
            if (!Files.isDirectory(link) || !seen.add(real(link))) break;
            d = new ImageDir(real(link));
            if (!d.exists(type, nameArg)) break;
            try (ImageReader r = d.open(type, nameArg)) {
                out.add(d.path(ImageType.PAGES, r.readOne(PagemapHead.parser()).getPagesId()));
            }
        }
        return out;
    }
}

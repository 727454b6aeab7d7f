package org.jcriu.files.memfd;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.sys.Errno;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * The contents of a shmem file (a memfd) in CRIU's shmem page format: pagemap-shmem-SHMID.img
 * (a pagemap_head naming pages-N.img, then one entry per run of saved pages, vaddr being the
 * offset in the file, flags PE_PRESENT) and the pages themselves in pages-N.img.
 */
final class ShmemPages {
    static final int PAGE = 4096, PE_PRESENT = 1 << 2;
    private static final int SEEK_DATA = 3, SEEK_HOLE = 4;

    /** Runs of pages: offsets in the file and their bytes. */
    record Content(List<Long> offsets, List<byte[]> runs) {
        int pageCount() {
            int n = 0;
            for (byte[] r : runs) n += r.length / PAGE;
            return n;
        }
    }

    private ShmemPages() {}

    /** The data extents of {@code fd} (SEEK_DATA/SEEK_HOLE), page aligned, up to {@code size}. */
    static Content read(int fd, long size) {
        List<Long> offs = new ArrayList<>();
        List<byte[]> runs = new ArrayList<>();
        long end = (size + PAGE - 1) / PAGE * PAGE;
        long off = 0;
        try (Arena a = Arena.ofConfined()) {
            while (off < end) {
                long data = Sys.raw(Nr.LSEEK, fd, off, SEEK_DATA);
                if (data == -Errno.ENXIO) break;
                Sys.check("lseek(SEEK_DATA)", Nr.LSEEK, fd, off, SEEK_DATA);
                long hole = Sys.check("lseek(SEEK_HOLE)", Nr.LSEEK, fd, data, SEEK_HOLE);
                long from = data / PAGE * PAGE, to = Math.min(end, (hole + PAGE - 1) / PAGE * PAGE);
                if (to <= from) break;
                if (to - from > Integer.MAX_VALUE - PAGE) throw new CriuException("memfd data extent of " + (to - from) + " bytes is too large");
                MemorySegment buf = a.allocate(to - from);
                long got = 0;
                while (got < to - from) {
                    long n = Sys.pread(fd, buf.asSlice(got), to - from - got, from + got);
                    if (n == 0) break; // the tail past EOF of the last page stays zero
                    got += n;
                }
                offs.add(from);
                runs.add(buf.toArray(JAVA_BYTE));
                off = to;
            }
        }
        return new Content(offs, runs);
    }

    static void write(ImageDir dir, int shmid, int pagesId, Content c) {
        try (ImageWriter w = dir.create(ImageType.SHMEM_PAGEMAP, shmid)) {
            w.write(PagemapHead.newBuilder().setPagesId(pagesId).build());
            for (int i = 0; i < c.runs().size(); i++) {
                w.write(PagemapEntry.newBuilder().setVaddr(c.offsets().get(i)).setCompatNrPages(0).setFlags(PE_PRESENT)
                        .setNrPages(c.runs().get(i).length / PAGE).build());
            }
        }
        try (FileChannel ch = FileChannel.open(dir.path(ImageType.PAGES, pagesId), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (byte[] r : c.runs()) {
                ByteBuffer b = ByteBuffer.wrap(r);
                while (b.hasRemaining()) ch.write(b);
            }
        } catch (IOException e) {
            throw new CriuException("Can't write " + dir.path(ImageType.PAGES, pagesId) + ": " + e.getMessage());
        }
    }

    /** Writes the saved pages of {@code shmid} into {@code fd} (a file of ours) and sets its size. */
    static void fill(ImageDir dir, int shmid, int fd, long size) {
        Sys.check("ftruncate(memfd)", Nr.FTRUNCATE, fd, size);
        try (ImageReader r = dir.openOptional(ImageType.SHMEM_PAGEMAP, shmid)) {
            if (r == null) return;
            PagemapHead head = r.readOne(PagemapHead.parser());
            var pages = dir.path(ImageType.PAGES, head.getPagesId());
            try (FileChannel ch = FileChannel.open(pages, StandardOpenOption.READ); Arena a = Arena.ofConfined()) {
                long pos = 0;
                PagemapEntry e;
                while ((e = r.read(PagemapEntry.parser())) != null) {
                    long n = (e.hasNrPages() ? e.getNrPages() : e.getCompatNrPages()) * (long) PAGE;
                    if ((e.getFlags() & PE_PRESENT) == 0) continue;
                    ByteBuffer b = ByteBuffer.allocate((int) n);
                    while (b.hasRemaining()) {
                        if (ch.read(b, pos + b.position()) < 0) {
                            throw new CriuException(pages + " ends at byte " + (pos + b.position()) + ", before the pages of shmem " + shmid);
                        }
                    }
                    pos += n;
                    long len = Math.min(n, size - e.getVaddr());
                    if (len <= 0) continue;
                    MemorySegment seg = a.allocate(len);
                    MemorySegment.copy(b.array(), 0, seg, JAVA_BYTE, 0, (int) len);
                    long put = 0;
                    while (put < len) put += Sys.pwrite(fd, seg.asSlice(put), len - put, e.getVaddr() + put);
                }
            } catch (IOException ex) {
                throw new CriuException("Can't read " + pages + ": " + ex.getMessage());
            }
        }
    }
}

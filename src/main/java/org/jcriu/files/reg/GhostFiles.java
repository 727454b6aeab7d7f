package org.jcriu.files.reg;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jcriu.CriuException;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.OpenFd;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.GhostChunkEntry;
import org.jcriu.image.proto.GhostFileEntry;
import org.jcriu.image.proto.RemapFilePathEntry;
import org.jcriu.image.proto.RemapType;
import org.jcriu.image.proto.Timeval;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * Dump side of ghost files: an open regular file whose last name was unlinked (st_nlink 0) can
 * only come back if its contents travel in the images, as CRIU's ghost-file-ID.img (a
 * ghost_file_entry, then the bytes) plus a remap-fpath.img entry pointing the reg file at it.
 * Files from 3 pages on are stored as (offset, length) chunks of their data only, found with
 * SEEK_DATA/SEEK_HOLE, so a sparse file keeps its holes; smaller ones as plain bytes (CRIU's
 * GHOST_CHUNKS_THRESH). Several fds on one inode share one ghost. A removed directory or an
 * unlinked named FIFO is a ghost too, with its mode (S_IFDIR, S_IFIFO), owner and times only.
 */
public final class GhostFiles {
    private static final Logger LOG = Log.get("ghost");
    /** Below this size CRIU writes the whole file after the entry, without chunks. */
    static final long CHUNKS_THRESH = 3 * 4096;
    private static final int SEEK_DATA = 3, SEEK_HOLE = 4;

    private record Chunk(long off, byte[] data) {}

    private final Map<String, Integer> byInode = new HashMap<>();
    private int nextId = 1;

    static GhostFiles of(DumpFiles files) {
        return files.state(GhostFiles.class, GhostFiles::new);
    }

    /** Saves the contents of unlinked {@code fd} (once per inode) and remaps reg file {@code fileId} to them. */
    void dump(OpenFd fd, String path, int fileId, DumpFiles files) {
        dump("/proc/" + fd.pid() + "/fd/" + fd.fd(), fd.describe(), fd.stat(), path, fileId, files);
    }

    /**
     * As {@link #dump(OpenFd, String, int, DumpFiles)} for the unlinked file reached through
     * {@code proc} (an fd, or a /proc/PID/map_files link of a mapping of it), {@code who} naming it in errors.
     */
    void dump(String proc, String who, Stat st, String path, int fileId, DumpFiles files) {
        String key = st.dev() + ":" + st.ino();
        Integer id = byInode.get(key);
        if (id == null) {
            long limit = files.options().ghostLimit;
            // st_blocks, not st_size: a sparse file costs only its data (CRIU checks the same)
            if (st.blocks() * 512 > limit) {
                throw new CriuException(String.format("Can't dump ghost file %s of %d bytes (%s): larger than --ghost-limit %d, increase the limit",
                        path, st.blocks() * 512, who, limit));
            }
            id = nextId++;
            byInode.put(key, id);
            write(proc, who, st, id, files);
            LOG.info("ghost file %#x for %s (%s, %d bytes)", id, path, who, st.size());
        }
        files.addImageEntry(ImageType.REMAP_FPATH, RemapFilePathEntry.newBuilder().setOrigId(fileId).setRemapId(id)
                .setRemapType(RemapType.GHOST).build(), null);
    }

    private static void write(String proc, String who, Stat st, int id, DumpFiles files) {
        GhostFileEntry.Builder g = GhostFileEntry.newBuilder().setUid(st.uid()).setGid(st.gid()).setMode(st.mode())
                .setDev((int) st.dev()).setIno(st.ino())
                .setAtim(timeval(st.atimeNs())).setMtim(timeval(st.mtimeNs()));
        boolean chunked = st.isReg() && st.size() >= CHUNKS_THRESH;
        if (chunked) g.setChunks(true).setSize(st.size());
        GhostFileEntry entry = g.build();
        // Read now, while the task is frozen; through /proc so that a file the task opened
        // write-only, or one without read permission, can still be read. A removed directory
        // and an unlinked FIFO have only their entry (the FIFO's bytes go to fifo-data.img).
        List<Chunk> chunks = st.isReg() ? read(proc, who, st.size(), chunked) : List.of();
        files.atWrite(dir -> {
            try (ImageWriter w = dir.create(ImageType.GHOST_FILE, id)) {
                w.write(entry);
                for (Chunk c : chunks) {
                    if (chunked) w.write(GhostChunkEntry.newBuilder().setLen(c.data().length).setOff(c.off()).build());
                    w.writeRaw(c.data());
                }
            }
        });
    }

    private static Timeval timeval(long ns) {
        return Timeval.newBuilder().setTvSec(ns / 1_000_000_000L).setTvUsec(ns % 1_000_000_000L / 1000).build();
    }

    private static List<Chunk> read(String proc, String who, long size, boolean chunked) {
        int lfd = Sys.open(proc, Linux.O_RDONLY, 0);
        try {
            List<Chunk> out = new ArrayList<>();
            if (!chunked) {
                out.add(new Chunk(0, pread(lfd, 0, size, who)));
                return out;
            }
            long hole = 0;
            while (hole < size) {
                long data = Sys.raw(Nr.LSEEK, lfd, hole, SEEK_DATA);
                if (data == -Errno.ENXIO) break; // only a hole up to the end
                if (data < 0) {
                    if (hole != 0) throw new ErrnoException((int) -data, "lseek(" + proc + ", SEEK_DATA)");
                    // a file system without SEEK_DATA: the whole file is one chunk
                    data = 0;
                    hole = size;
                } else {
                    hole = Sys.check("lseek(" + proc + ", SEEK_HOLE)", Nr.LSEEK, lfd, data, SEEK_HOLE);
                }
                out.add(new Chunk(data, pread(lfd, data, hole - data, who)));
            }
            return out;
        } finally {
            Sys.close(lfd);
        }
    }

    private static byte[] pread(int lfd, long off, long len, String who) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Math.max(1, len));
            long done = 0;
            while (done < len) {
                long n = Sys.pread(lfd, buf.asSlice(done), len - done, off + done);
                if (n == 0) throw new CriuException("Ghost file of " + who + " shrank while being read at offset " + (off + done));
                done += n;
            }
            return buf.asSlice(0, len).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }
}

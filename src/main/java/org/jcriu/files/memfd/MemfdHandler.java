package org.jcriu.files.memfd;

import java.util.HashMap;
import java.util.Map;
import org.jcriu.CriuException;
import org.jcriu.files.AnonFd;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.MemfdFileEntry;
import org.jcriu.image.proto.MemfdInodeEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * memfd files: one memfd_file_entry per open file description (flags, position) and one
 * memfd_inode_entry per memfd in memfd.img (name, size, seals, owner), as CRIU 4.2 writes them.
 * The contents go where CRIU puts them, as shmem pages: pagemap-shmem-SHMID.img (shmid is the
 * inode number) over a pages-N.img of their own; only the file's data extents are saved (holes
 * stay holes). Reading goes through a new open of /proc/PID/fd/N, so the task's file position
 * is never moved.
 *
 * <p>Restore: memfd_create in the task (MFD_ALLOW_SEALING unless the memfd could not be sealed),
 * contents written by jcriu through /proc/TID/fd/N, seals added last (F_SEAL_WRITE forbids the
 * writing), then every file description is a reopen of /proc/self/fd/N with its own flags and
 * position, as CRIU does. Mappings of a memfd (CRIU's VMA_AREA_MEMFD) name a MEMFD file entry of
 * their own with the same inode entry, so the contents are saved once and the restored tasks map
 * the same memfd their fds reach ({@link #openInode}).
 */
public final class MemfdHandler implements FileHandler {
    private static final Logger LOG = Log.get("memfd");
    static final String PREFIX = "/memfd:", DELETED = " (deleted)";
    static final long HUGETLBFS_MAGIC = 0x958458f6L, NR_FSTATFS = 138;
    static final int F_GET_SEALS = 1034, F_ADD_SEALS = 1033, F_SEAL_SEAL = 1, MFD_ALLOW_SEALING = 2;

    public static boolean isMemfd(OpenFd fd) {
        return fd.stat().isReg() && fd.link().startsWith(PREFIX) && fd.link().endsWith(DELETED);
    }

    @Override
    public FdTypes type() {
        return FdTypes.MEMFD;
    }

    @Override
    public String name() {
        return "memfd";
    }

    /** Dump state: memfd inodes already seen, by "dev:ino". */
    private record Inodes(Map<String, Integer> ids) {}

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        int inodeId = inodeId(files, fd.stat().dev(), fd.stat().ino(), i -> dumpInode(fd, i, files));
        MemfdFileEntry e = MemfdFileEntry.newBuilder().setId(id).setFlags(fd.fileFlags()).setPos(fd.info().pos())
                .setFown(AnonFd.NO_OWNER).setInodeId(inodeId).build();
        return FileEntry.newBuilder().setType(FdTypes.MEMFD).setId(id).setMemfd(e).build();
    }

    /**
     * The memfd_inode_entry id of inode dev:ino in this dump, numbered from 1 in the order first
     * seen, whether an fd or a mapping (CRIU's VMA_AREA_MEMFD, dump.MemfdVmas) refers to it;
     * {@code make} builds its memfd.img entry the first time.
     */
    public static int inodeId(DumpFiles files, long dev, long ino, java.util.function.IntFunction<MemfdInodeEntry> make) {
        Inodes inodes = files.state(Inodes.class, () -> new Inodes(new HashMap<>()));
        String key = dev + ":" + ino;
        Integer inodeId = inodes.ids().get(key);
        if (inodeId == null) {
            inodeId = inodes.ids().size() + 1;
            inodes.ids().put(key, inodeId);
            files.addImageEntry(ImageType.MEMFD_INODE, make.apply(inodeId), null);
        }
        return inodeId;
    }

    private MemfdInodeEntry dumpInode(OpenFd fd, int inodeId, DumpFiles files) {
        String link = fd.link();
        String name = link.substring(PREFIX.length(), link.length() - DELETED.length());
        return dumpInode("/proc/" + fd.pid() + "/fd/" + fd.fd(), fd.describe(), name, fd.stat(), inodeId, files);
    }

    /**
     * The memfd_inode_entry of the memfd reached through {@code proc} (an fd or a map_files link
     * of the task), its contents read now for pagemap-shmem-SHMID.img.
     */
    private static MemfdInodeEntry dumpInode(String proc, String who, String name, Stat st, int inodeId, DumpFiles files) {
        int shmid = (int) st.ino();
        int lfd;
        try {
            lfd = Sys.open(proc, Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        } catch (CriuException ex) {
            throw new CriuException(ex.errno(), "Can't open " + who + " to read its contents: " + ex.getMessage(), ex);
        }
        int seals;
        ShmemPages.Content content;
        try {
            if (fsType(lfd) == HUGETLBFS_MAGIC) {
                throw new CriuException("Can't dump " + who + ": memfds on hugetlbfs (MFD_HUGETLB) are not supported");
            }
            seals = (int) Sys.check("fcntl(memfd " + name + ", F_GET_SEALS)", Nr.FCNTL, lfd, F_GET_SEALS);
            content = ShmemPages.read(lfd, st.size());
        } finally {
            Sys.close(lfd);
        }
        MemfdInodeEntry mie = MemfdInodeEntry.newBuilder().setName(name).setUid(st.uid()).setGid(st.gid())
                .setSize(st.size()).setShmid(shmid).setSeals(seals).setInodeId(inodeId).setMode(st.mode()).build();
        int pagesId = files.nextPagesId();
        LOG.info("Dumping memfd:%s contents (id %#x, shmid %#x, size %d, %d pages, seals %#x)", name, inodeId, shmid,
                st.size(), content.pageCount(), seals);
        files.atWrite(dir -> ShmemPages.write(dir, shmid, pagesId, content));
        return mie;
    }

    /** A mapping's file "/memfd:NAME (deleted)" (smaps path): a memfd, not an unlinked regular file. */
    public static boolean isMemfdPath(String path) {
        return path.startsWith(PREFIX) && path.endsWith(DELETED);
    }

    /** Dump state: file ids of memfd mappings, by "dev:ino". */
    private record Mapped(Map<String, Integer> ids) {}

    /**
     * vma_entry.shmid of a mapping of memfd {@code path} at start-end in task {@code pid}, as CRIU's
     * dump_filemap: the id of a MEMFD file_entry of its own (flags 0, position 0: a mapping has no
     * file description of its own), one per memfd inode in the dump, whose inode entry is the one
     * the memfd's fds name too (memfd.img, pages saved once).
     */
    public static int mappingFileId(DumpFiles files, int pid, long start, long end, String path) {
        String mf = "/proc/" + pid + "/map_files/" + Long.toHexString(start) + "-" + Long.toHexString(end);
        Stat st;
        try {
            st = Sys.stat(mf);
        } catch (CriuException e) {
            throw new CriuException(e.errno(), "Can't stat the memfd of mapping " + path + " at " + Long.toHexString(start) + " of task "
                    + pid + ": " + e.getMessage(), e);
        }
        Mapped mapped = files.state(Mapped.class, () -> new Mapped(new HashMap<>()));
        String key = st.dev() + ":" + st.ino();
        Integer id = mapped.ids().get(key);
        if (id != null) return id;
        String name = path.substring(PREFIX.length(), path.length() - DELETED.length());
        String who = "memfd mapping " + path + " at " + Long.toHexString(start) + " of task " + pid;
        int inodeId = inodeId(files, st.dev(), st.ino(), i -> dumpInode(mf, who, name, st, i, files));
        int fid = files.addFile(i -> FileEntry.newBuilder().setType(FdTypes.MEMFD).setId(i).setMemfd(MemfdFileEntry.newBuilder()
                .setId(i).setFlags(0).setPos(0).setFown(AnonFd.NO_OWNER).setInodeId(inodeId)).build());
        mapped.ids().put(key, fid);
        return fid;
    }

    /** statfs f_type of the filesystem {@code fd} is on (struct statfs starts with it). */
    private static long fsType(int fd) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment st = a.allocate(120, 8);
            Sys.check("fstatfs", NR_FSTATFS, fd, st.address());
            return st.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0);
        }
    }

    /**
     * Restore state: per memfd inode id, jcriu's own fd on the memfd made for it, kept until the
     * whole tree has its fds and mappings (every task that reaches the inode, by fd or by
     * mapping, gets this one object), then sealed and closed.
     */
    private static final class Made implements AutoCloseable {
        final Map<Integer, Integer> fds = new HashMap<>();

        @Override
        public void close() {
            for (int fd : fds.values()) Sys.close(fd);
            fds.clear();
        }
    }

    @Override
    public int open(FileEntry fe, FileRestorer r) {
        MemfdFileEntry e = fe.getMemfd();
        var t = r.task();
        int base = openInode(e.getInodeId(), r);
        // Each file description is a reopen of the memfd with the image's flags, as CRIU does.
        int fd = r.openPath("/proc/self/fd/" + base, e.getFlags() & ~Linux.O_CLOEXEC);
        t.syscall(Nr.CLOSE, base);
        if (e.getPos() != 0) t.syscall(Nr.LSEEK, fd, e.getPos(), 0);
        return fd;
    }

    /**
     * An O_RDWR fd in the current task on the memfd of inode {@code inodeId} (memfd.img): made,
     * filled and owned in the first task that needs it, whether for an fd or a mapping (CRIU's
     * VMA_AREA_MEMFD; restore.MemoryRestorer maps it), and the same memfd, handed over by
     * pidfd_getfd, in every later one.
     */
    public int openInode(int inodeId, FileRestorer r) {
        var t = r.task();
        Made made = r.state(Made.class, Made::new);
        Integer own = made.fds.get(inodeId);
        if (own != null) return r.pullFromRestorer(own, Linux.O_RDWR);
        MemfdInodeEntry mie = inode(r, inodeId);
        int base = create(r, mie);
        int mine = Sys.open("/proc/" + t.tid() + "/fd/" + base, Linux.O_RDWR | Linux.O_CLOEXEC, 0);
        made.fds.put(inodeId, mine);
        // seals last, once every task has mapped it: F_SEAL_FUTURE_WRITE refuses new writable
        // mappings, F_SEAL_WRITE writes (and the fill)
        r.whenTreeDone(() -> {
            Integer fd = made.fds.remove(inodeId);
            if (fd == null) return;
            try {
                long rc = mie.getSeals() != F_SEAL_SEAL && mie.getSeals() != 0 ? Sys.raw(Nr.FCNTL, fd, F_ADD_SEALS, mie.getSeals()) : 0;
                if (rc < 0) {
                    throw new CriuException((int) -rc, String.format("Can't seal memfd:%s (inode %d of %s) with seals %#x again: %s",
                            mie.getName(), inodeId, r.images().path(ImageType.MEMFD_INODE), mie.getSeals(), org.jcriu.sys.Errno.name((int) -rc)));
                }
            } finally {
                Sys.close(fd);
            }
        });
        return base;
    }

    /** The memfd_inode_entry {@code id} of memfd.img (read once per restore). */
    private static MemfdInodeEntry inode(FileRestorer r, int id) {
        Map<Long, MemfdInodeEntry> all = r.state(MemfdInodeEntry.class, () -> {
            Map<Long, MemfdInodeEntry> m = new HashMap<>();
            try (var rd = r.images().open(ImageType.MEMFD_INODE)) {
                MemfdInodeEntry x;
                while ((x = rd.read(MemfdInodeEntry.parser())) != null) m.put(x.getInodeId(), x);
            }
            return m;
        });
        MemfdInodeEntry m = all.get((long) id);
        if (m == null) throw new CriuException("No memfd inode " + id + " in " + r.images().path(ImageType.MEMFD_INODE));
        return m;
    }

    private static int create(FileRestorer r, MemfdInodeEntry mie) {
        var t = r.task();
        if (mie.hasHugetlbFlag() && mie.getHugetlbFlag() != 0) {
            throw new CriuException("memfd:" + mie.getName() + " is on hugetlbfs, which is not supported");
        }
        int flags = mie.getSeals() == F_SEAL_SEAL ? 0 : MFD_ALLOW_SEALING;
        int fd;
        try (var s = org.jcriu.files.reg.RegFileHandler.pathIn(t, mie.getName())) {
            fd = (int) t.syscall(Nr.MEMFD_CREATE, s.addr(), flags);
        }
        int mine = Sys.open("/proc/" + t.tid() + "/fd/" + fd, Linux.O_RDWR | Linux.O_CLOEXEC, 0);
        try {
            ShmemPages.fill(r.images(), mie.getShmid(), mine, mie.getSize());
            t.syscall(Nr.FCHOWN, fd, mie.getUid(), mie.getGid());
        } finally {
            Sys.close(mine);
        }
        LOG.debug("memfd:%s made in task %d (size %d, seals %#x)", mie.getName(), t.tid(), mie.getSize(), mie.getSeals());
        return fd;
    }
}

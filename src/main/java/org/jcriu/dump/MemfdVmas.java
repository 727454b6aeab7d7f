package org.jcriu.dump;

import java.util.HashMap;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.files.AnonFd;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.memfd.MemfdHandler;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.MemfdFileEntry;
import org.jcriu.image.proto.MemfdInodeEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.proc.Vma;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * Shared hugetlb anonymous memory (MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB: a file
 * "/anon_hugepage" on the kernel's internal hugetlbfs mount) is dumped as CRIU 4.2 dumps it,
 * through a memfd (criu/proc_parse.c can_dump_with_memfd_hugetlb, memfd.c): the VMA gets status
 * VMA_AREA_MEMFD | VMA_FILE_SHARED and its shmid is the id of a MEMFD file_entry (flags 0,
 * position 0, as for a mapping), whose memfd_inode_entry in memfd.img has the name
 * "/anon_hugepage", the object's size, owner, mode and seals, shmid = the inode number and
 * hugetlb_flag = MFD_HUGETLB | the page size bits. The pages go to pagemap-shmem-SHMID.img
 * ({@link org.jcriu.mem.ShmemDump}). Every VMA of every task that maps one object shares one
 * file id.
 */
final class MemfdVmas {
    private static final Logger LOG = Log.get("shmem");
    static final int MFD_HUGETLB = 4, F_GET_SEALS = 1034, F_SEAL_SEAL = 1;

    /** dev:ino -> the file_entry id of that object's mappings in this dump. */
    private record Ids(Map<String, Integer> byInode) {}

    private MemfdVmas() {}

    /** The file id vma_entry.shmid names for {@code v}, a shared hugetlb VMA (or a hugetlb memfd's) of task {@code pid}. */
    static int fileId(DumpFiles files, int pid, Vma v, int hugetlbFlag) {
        String mf = "/proc/" + pid + "/map_files/" + Long.toHexString(v.start()) + "-" + Long.toHexString(v.end());
        Stat st;
        try {
            st = Sys.stat(mf);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't stat the hugetlb object of mapping " + v + " of task " + pid + ": " + e.getMessage());
        }
        Ids ids = files.state(Ids.class, () -> new Ids(new HashMap<>()));
        String key = st.dev() + ":" + st.ino();
        Integer id = ids.byInode().get(key);
        if (id != null) return id;
        String path = v.path().endsWith(" (deleted)") ? v.path().substring(0, v.path().length() - " (deleted)".length()) : v.path();
        // a memfd's entry has its name without the "/memfd:" the kernel shows (criu/memfd.c)
        String name = path.startsWith("/memfd:") ? path.substring("/memfd:".length()) : path;
        int inodeId = MemfdHandler.inodeId(files, st.dev(), st.ino(), i -> inode(mf, pid, name, st, i, hugetlbFlag));
        int fid = files.addFile(i -> FileEntry.newBuilder().setType(FdTypes.MEMFD).setId(i).setMemfd(MemfdFileEntry.newBuilder()
                .setId(i).setFlags(0).setPos(0).setFown(AnonFd.NO_OWNER).setInodeId(inodeId)).build());
        ids.byInode().put(key, fid);
        return fid;
    }

    private static MemfdInodeEntry inode(String mf, int pid, String name, Stat st, int inodeId, int hugetlbFlag) {
        int fd;
        try {
            fd = Sys.open(mf, Linux.O_RDONLY | Linux.O_CLOEXEC, 0);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't open hugetlb object " + mf + " of task " + pid + ": " + e.getMessage());
        }
        int seals;
        try {
            // a hugetlbfs inode starts sealed with F_SEAL_SEAL, like CRIU reads it from an anonymous one
            long r = Sys.raw(Nr.FCNTL, fd, F_GET_SEALS);
            seals = r < 0 ? F_SEAL_SEAL : (int) r;
        } finally {
            Sys.close(fd);
        }
        LOG.info("shared hugetlb object %d of task %d: %d bytes, dumped as memfd inode %d", st.ino(), pid, st.size(), inodeId);
        return MemfdInodeEntry.newBuilder().setName(name).setUid(st.uid()).setGid(st.gid()).setSize(st.size())
                .setShmid((int) st.ino()).setSeals(seals).setInodeId(inodeId).setMode(st.mode())
                .setHugetlbFlag(MFD_HUGETLB | hugetlbFlag).build();
    }
}

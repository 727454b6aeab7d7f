package org.jcriu.files;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.FdinfoEntry;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.proc.FdInfo;
import org.jcriu.proc.ProcFs;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * The dump side's file table, ONE per dump and shared by every task of the tree: gives every
 * open file description and every file referenced by path (mappings, exe, cwd, root) an id, in
 * the order CRIU does (per task: mappings, then fds, then cwd/root), and writes files.img, the
 * per-kind images and one fdinfo-FILESID.img per fd table.
 *
 * <p>Fds that share one open file description (dup'ed, inherited across fork, or received over
 * a unix socket), in one task or in several, share one id: candidates with the same inode are
 * told apart with kcmp(KCMP_FILE), as CRIU does. Tasks that share one fd table (CLONE_FILES)
 * share one files_id (kcmp(KCMP_FILES)), and its fds are dumped once.
 *
 * <p>Use (dump engineer), on one thread:
 * <pre>{@code
 * DumpFiles files = new DumpFiles(opts);            // once per dump
 * // per task, parents before children (pstree order):
 * VmaPlan.build(pid, vmas, files);                  // mapped files (pathFile)
 * int filesId = files.dumpTask(pid);                // its fds -> ids.files_id
 * files.pathFile(exe, ...); files.pathFile(cwd, ...); files.pathFile(root, ...);
 * // once, after the last task:
 * files.write(dir);                                 // files.img, fdinfo-N.img for every N, ...
 * }</pre>
 * The single-task calls ({@link #dumpFds(List)} then {@link #write(ImageDir, int)}) still work.
 */
public final class DumpFiles {
    private static final Logger LOG = Log.get("files");
    private static final int KCMP_FILE = 0, KCMP_FILES = 2;
    /**
     * files_id of the first fd table. CRIU numbers kernel objects per kind from 1, and 1 is its
     * own (inventory root_ids), so the dumped tasks' tables are 2, 3, ...
     */
    public static final int FIRST_FILES_ID = 2;
    /** Key of the fdinfos of {@link #dumpFds(List)}, whose files_id {@link #write(ImageDir, int)} is told. */
    private static final int UNNUMBERED = 0;

    private final Options opts;
    private final List<FileEntry> entries = new ArrayList<>();
    /** files_id -> its fdinfo entries in fd order. */
    private final Map<Integer, List<FdinfoEntry>> fdinfos = new java.util.LinkedHashMap<>();
    /** Fd tables dumped so far: a pid holding each one, and its files_id. */
    private final List<int[]> tables = new ArrayList<>();
    private int nextFilesId = FIRST_FILES_ID;
    /** dev:ino -> the open file descriptions seen with that inode, sorted by kcmp's order. */
    private final Map<String, List<Seen>> seen = new HashMap<>();
    private final Map<String, Integer> byPath = new HashMap<>();
    /** POSIX locks already recorded: pid:dev:ino:type:start:len. */
    private final java.util.Set<String> posixLocks = new java.util.HashSet<>();
    private final Map<Long, Integer> ttyInfos = new HashMap<>();
    private final List<org.jcriu.image.proto.TtyInfoEntry> ttyInfoEntries = new ArrayList<>();
    private int nextId = 1;
    private int nextPagesId = 2;
    private final Map<Object, Object> handlerState = new HashMap<>();
    private final List<java.util.function.Consumer<ImageDir>> writers = new ArrayList<>();
    private final Map<Integer, org.jcriu.image.proto.PipeDataEntry> pipeData = new java.util.LinkedHashMap<>();
    private final Map<Integer, byte[]> pipeBytes = new HashMap<>();

    /** An open file description already given an id, found again through (pid, fd). */
    private record Seen(int pid, int fd, int id) {}

    /** Extra image entries handlers add (sk-queues.img, fifo-data.img...), written in order with their payloads. */
    private final Map<ImageType, List<Map.Entry<com.google.protobuf.MessageLite, byte[]>>> extra = new java.util.LinkedHashMap<>();

    public DumpFiles(Options opts) {
        this.opts = opts;
        // The external resources the fd handlers know; any other would be silently dumped as ours.
        for (String x : opts.external) {
            if (!x.startsWith("tty[") && !x.startsWith("unix[")) {
                throw new CriuException("--external " + x + " is not supported yet (jcriu takes tty[RDEV:DEV] and unix[INO])");
            }
        }
    }

    /** The dump's options (handlers read e.g. --ext-unix-sk). */
    public Options options() {
        return opts;
    }

    /**
     * Lists and stats every fd of {@code pid} from /proc, in fd order. Touches nothing in the
     * task; an fd closed while we look is left out.
     */
    public static List<OpenFd> scan(int pid) {
        Path dir = ProcFs.pidDir(pid).resolve("fd");
        List<Integer> nums = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) nums.add(Integer.parseInt(p.getFileName().toString()));
        } catch (IOException e) {
            throw new CriuException(3, "Can't list " + dir + ": " + e.getMessage());
        }
        nums.sort(null);
        List<OpenFd> out = new ArrayList<>(nums.size());
        for (int fd : nums) {
            String p = dir + "/" + fd;
            String link;
            Stat st;
            FdInfo info;
            try {
                link = Sys.readlink(p);
                st = Sys.stat(p);
                info = FdInfo.read(pid, fd);
            } catch (ErrnoException e) {
                // A running task (the checks before the stop) closes fds as we look.
                if (e.errno() == org.jcriu.sys.Errno.ENOENT) continue;
                throw new CriuException(e.errno(), "Can't inspect fd " + fd + " of task " + pid + ": " + e.getMessage());
            } catch (CriuException e) {
                if (!Files.exists(Path.of(p))) continue;
                throw e;
            }
            out.add(new OpenFd(pid, fd, link, st, info));
        }
        return out;
    }

    /** Checks that every fd has a handler, without writing anything. */
    public void check(List<OpenFd> fds) {
        for (OpenFd fd : fds) {
            FileHandlers.classify(fd, opts);
            checkLocks(fd);
        }
    }

    /** As CRIU: a task holding file locks is only dumped with -l, which takes them along. */
    private List<org.jcriu.image.proto.FileLockEntry> checkLocks(OpenFd fd) {
        List<org.jcriu.image.proto.FileLockEntry> locks = org.jcriu.files.lock.FileLocks.of(fd);
        if (!locks.isEmpty() && !opts.fileLocks) {
            throw new CriuException("Can't dump " + fd.describe() + ": it holds " + locks.size()
                    + " file lock(s); dump with --file-locks (-l) to take them along");
        }
        return locks;
    }

    /**
     * Dumps every fd of task {@code pid} (scanned from /proc now) and returns the files_id its
     * ids-PID.img names. A task sharing its fd table with a task dumped before gets that task's
     * files_id and nothing more is dumped for it.
     */
    public int dumpTask(int pid) {
        for (int[] t : tables) {
            if (t[0] == pid) return t[1];
            if (kcmp(t[0], pid, KCMP_FILES, 0, 0) == 0) {
                LOG.debug("task %d shares the fd table of task %d (files_id %d)", pid, t[0], t[1]);
                return t[1];
            }
        }
        int filesId = nextFilesId++;
        dumpFds(scan(pid), filesId);
        tables.add(new int[] {pid, filesId});
        return filesId;
    }

    /** Dumps the fds of one task (single-task dumps): their files_id is given to {@link #write(ImageDir, int)}. */
    public void dumpFds(List<OpenFd> fds) {
        dumpFds(fds, UNNUMBERED);
    }

    /** One file_entry per open file description not seen before, one fdinfo_entry per fd. */
    private void dumpFds(List<OpenFd> fds, int filesId) {
        List<FdinfoEntry> out = fdinfos.computeIfAbsent(filesId, k -> new ArrayList<>());
        for (OpenFd fd : fds) {
            FileHandler h = FileHandlers.classify(fd, opts);
            List<Seen> same = seen.computeIfAbsent(fd.stat().dev() + ":" + fd.stat().ino(), k -> new ArrayList<>());
            int at = find(same, fd);
            int id;
            if (at >= 0) {
                id = same.get(at).id();
            } else {
                id = nextId++;
                same.add(-at - 1, new Seen(fd.pid(), fd.fd(), id));
                entries.add(FileOwner.dump(h.dump(fd, id, this), fd));
                // fdinfo shows the locks of the open file on each of its fds: those of the open
                // file (flock, OFD, lease) taken once, by the first
                for (var l : checkLocks(fd)) {
                    if (!org.jcriu.files.lock.FileLocks.ownedByProcess(l)) addImageEntry(ImageType.FILE_LOCKS, l, null);
                }
                LOG.debug("fd %d of task %d -> %s id %d (%s)", fd.fd(), fd.pid(), h.name(), id, fd.link());
            }
            // POSIX locks by the task that owns them, through its own fd (once per lock)
            for (var l : checkLocks(fd)) {
                if (org.jcriu.files.lock.FileLocks.ownedByProcess(l) && l.getPid() == fd.pid()
                        && posixLocks.add(l.getPid() + ":" + fd.stat().dev() + ":" + fd.stat().ino() + ":" + l.getType() + ":" + l.getStart() + ":" + l.getLen())) {
                    addImageEntry(ImageType.FILE_LOCKS, l, null);
                }
            }
            out.add(FdinfoEntry.newBuilder().setId(id).setFlags(fd.fdFlags()).setType(h.type()).setFd(fd.fd()).build());
        }
    }

    /**
     * Binary search of {@code fd}'s open file description among {@code same} (one inode), in the
     * order kcmp gives struct file pointers (a total order, the same for every pair of tasks):
     * the index, or -(insertion point) - 1. A few kcmp calls per fd even when thousands of fds
     * share an inode (/dev/null, one file opened many times).
     */
    private static int find(List<Seen> same, OpenFd fd) {
        int lo = 0, hi = same.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Seen s = same.get(mid);
            // kcmp: 0 equal, 1 first < second, 2 first > second
            long c = kcmp(s.pid(), fd.pid(), KCMP_FILE, s.fd(), fd.fd());
            if (c == 0) return mid;
            if (c == 1) lo = mid + 1;
            else hi = mid - 1;
        }
        return -lo - 1;
    }

    private static long kcmp(int pid1, int pid2, int type, int idx1, int idx2) {
        long r = Sys.raw(Nr.KCMP, pid1, pid2, type, idx1, idx2);
        if (r < 0) {
            throw new ErrnoException((int) -r, "kcmp(" + pid1 + ", " + pid2 + ", " + (type == KCMP_FILE ? "KCMP_FILE, " + idx1 + ", " + idx2 : "KCMP_FILES") + ")");
        }
        return r;
    }

    /**
     * The id of a file referenced by path rather than by an fd (a mapping, the exe, cwd, root):
     * one reg file entry per (file, open flags), shared by every reference.
     */
    public int pathFile(String path, Stat st, int flags) {
        String key = st.dev() + ":" + st.ino() + ":" + flags + ":" + path;
        Integer id = byPath.get(key);
        if (id != null) return id;
        int nid = nextId++;
        entries.add(FileHandlers.REG.dumpPath(path, st, flags, nid, opts));
        byPath.put(key, nid);
        return nid;
    }

    /**
     * The reg file id of a mapped file that has no name left ({@code path} is its old name,
     * {@code proc} its /proc/PID/map_files link): one per inode and open mode, remapped to a
     * ghost file holding its contents (see RegFileHandler.dumpUnlinkedMapping).
     */
    public int unlinkedMapFile(String proc, String who, String path, Stat st, int flags) {
        String key = st.dev() + ":" + st.ino() + ":" + flags + ":(unlinked)";
        Integer id = byPath.get(key);
        if (id != null) return id;
        int nid = nextId++;
        entries.add(FileHandlers.REG.dumpUnlinkedMapping(proc, who, path, st, flags, nid, this));
        byPath.put(key, nid);
        return nid;
    }

    /**
     * Adds tty-info entry {@code infoId} (one per side of a terminal, see TtyHandler), built by
     * {@code info} the first time the id is seen.
     */
    public void ttyInfo(int infoId, java.util.function.Supplier<org.jcriu.image.proto.TtyInfoEntry.Builder> info) {
        if (ttyInfos.containsKey((long) infoId)) return;
        ttyInfos.put((long) infoId, infoId);
        ttyInfoEntries.add(info.get().setId(infoId).build());
    }

    public boolean hasPipeData(int pipeId) {
        return pipeData.containsKey(pipeId);
    }

    /** The content of pipe {@code pipeId} for pipes-data.img (only pipes with queued bytes get an entry). */
    public void addPipeData(int pipeId, int size, byte[] bytes) {
        pipeData.put(pipeId, org.jcriu.image.proto.PipeDataEntry.newBuilder().setPipeId(pipeId).setBytes(bytes.length).setSize(size).build());
        pipeBytes.put(pipeId, bytes);
    }

    /**
     * State a handler keeps for one dump (e.g. memfd inodes already saved), created by
     * {@code make} on first use.
     */
    @SuppressWarnings("unchecked")
    public <T> T state(Object key, java.util.function.Supplier<T> make) {
        return (T) handlerState.computeIfAbsent(key, k -> make.get());
    }

    /** Images a handler writes besides files.img (memfd.img, shmem pages), written by {@link #write}. */
    public void atWrite(java.util.function.Consumer<ImageDir> writer) {
        writers.add(writer);
    }

    /**
     * A pages-N.img number for a handler's own pages (memfd contents). 1 is the task's memory
     * (written by the dumper); handlers get 2, 3, ... as CRIU hands them out in dump order.
     */
    public int nextPagesId() {
        return nextPagesId++;
    }

    /**
     * Adds a file_entry that no fd points to directly (e.g. the reg file naming a FIFO's path) with
     * a fresh id, before the entry of the fd being dumped; returns the id.
     */
    public int addFile(java.util.function.IntFunction<FileEntry> make) {
        int id = nextId++;
        entries.add(make.apply(id));
        return id;
    }

    /** An entry for image {@code t} (and its raw payload, or null), written by {@link #write}. */
    public void addImageEntry(ImageType t, com.google.protobuf.MessageLite m, byte[] raw) {
        extra.computeIfAbsent(t, k -> new ArrayList<>()).add(Map.entry(m, raw == null ? new byte[0] : raw));
    }

    public List<FileEntry> entries() {
        return entries;
    }

    /**
     * The fdinfo entries of {@link #dumpFds(List)} not yet given a files_id (the live list:
     * callers that number fd tables themselves may take entries out and put them back), which
     * {@link #write(ImageDir, int)} writes as its fd table.
     */
    public List<FdinfoEntry> fdinfos() {
        return fdinfos.computeIfAbsent(UNNUMBERED, k -> new ArrayList<>());
    }

    /** Single-task dumps: everything of {@link #write(ImageDir)}, the fds of {@link #dumpFds(List)} as fd table {@code filesId}. */
    public void write(ImageDir dir, int filesId) {
        List<FdinfoEntry> l = fdinfos.remove(UNNUMBERED);
        if (l != null) fdinfos.computeIfAbsent(filesId, k -> new ArrayList<>()).addAll(l);
        write(dir);
    }

    /**
     * Writes, once per dump: files.img (every file, in id order), fdinfo-N.img for every fd table
     * N (its fds in fd order), pipes-data.img, tty-info.img and the images handlers added.
     */
    public void write(ImageDir dir) {
        List<FdinfoEntry> pending = fdinfos.get(UNNUMBERED);
        if (pending != null && !pending.isEmpty()) throw new IllegalStateException("fds dumped with dumpFds(List) need write(dir, filesId)");
        fdinfos.remove(UNNUMBERED);
        try (ImageWriter w = dir.create(ImageType.FILES)) {
            for (FileEntry e : entries) w.write(e);
        }
        for (var t : fdinfos.entrySet()) {
            try (ImageWriter w = dir.create(ImageType.FDINFO, t.getKey())) {
                for (FdinfoEntry e : t.getValue()) w.write(e);
            }
        }
        try (ImageWriter w = dir.create(ImageType.PIPES_DATA)) {
            for (var e : pipeData.values()) {
                // Empty pipes too, as CRIU: the entry carries the pipe's capacity (F_SETPIPE_SZ).
                w.write(e);
                if (e.getBytes() > 0) w.writeRaw(pipeBytes.get(e.getPipeId()));
            }
        }
        try (ImageWriter w = dir.create(ImageType.TTY_INFO)) {
            for (org.jcriu.image.proto.TtyInfoEntry e : ttyInfoEntries) w.write(e);
        }
        for (var t : extra.entrySet()) {
            try (ImageWriter w = dir.create(t.getKey())) {
                for (var e : t.getValue()) {
                    w.write(e.getKey());
                    if (e.getValue().length > 0) w.writeRaw(e.getValue());
                }
            }
        }
        for (var w : writers) w.accept(dir);
    }
}

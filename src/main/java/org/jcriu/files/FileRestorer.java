package org.jcriu.files;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.files.reg.RegFileHandler;
import org.jcriu.files.tty.TtyHandler;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdinfoEntry;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.RegFileEntry;
import org.jcriu.image.proto.FsEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * The restore side of files: puts back, inside one task being restored, the fds of its
 * fdinfo-ID.img, its cwd/root/umask (fs-PID.img), and opens the files its mappings need. Every
 * call injects syscalls, so it runs on the tracer thread; paths go through task scratch memory.
 *
 * <p>Use (restore engineer):
 * <pre>{@code
 * FileRestorer files = new FileRestorer(imageDir, opts);      // reads files.img once
 * // on the tracer thread, task stopped, BEFORE its credentials are dropped
 * // (fds from jcriu itself are pulled with pidfd_getfd, which needs ptrace rights over jcriu):
 * int fd = files.openForMap(task, vma.getShmid(), openFlagsFor(vma)); ... mmap(..., fd, ...); close
 * files.restoreFs(task, pid);                                  // chdir/chroot/umask
 * files.restoreFds(task, ids.getFilesId());                    // every fd in place, others closed
 * }</pre>
 *
 * <p>One FileRestorer serves a whole restore: {@link #restoreFds} is called once per task, parents
 * before children. A file id already installed in an earlier task is not opened again: the later
 * task gets the same open file description with pidfd_open(earlier task) + pidfd_getfd injected
 * in it, so offsets, pipes and sockets stay shared as they were. Objects made together in one
 * task but held by another (the other end of a pipe, the peer of a socketpair, a connection a
 * listener accepted) are kept by jcriu (pidfd_getfd) until the task that holds them is restored.
 * A task whose files_id was restored before shares that fd table (CLONE_FILES): nothing is done.
 *
 * <p>Fds of files shared with the outside are not reopened: an external pipe named by
 * {@code --inherit-fd fd[N]:pipe:[INODE]} and, with --shell-job, the terminal become copies of
 * jcriu's own fd N / terminal, pulled into the task with pidfd_open + pidfd_getfd (same open
 * file description, like an fd inherited from a shell).
 */
public final class FileRestorer {
    private static final Logger LOG = Log.get("files");

    private final ImageDir dir;
    private final Options opts;
    private final Map<Integer, FileEntry> files = new HashMap<>();
    private final Map<String, Integer> inherit = new HashMap<>();
    private final int restorerPid = Sys.getpid();
    private Task task;
    /** pipe_id -> {read end, write end} made in the current task. */
    private final Map<Integer, int[]> pipes = new HashMap<>();
    private final Map<Integer, org.jcriu.files.pipe.PipeData.Content> pipeData = new HashMap<>();
    /** Fds of the current task that hold their file from the image. */
    private final java.util.Set<Integer> installed = new java.util.HashSet<>();
    private final Map<Object, Object> handlerState = new HashMap<>();
    private final List<Runnable> whenDone = new ArrayList<>();
    private final List<Runnable> whenTreeDone = new ArrayList<>();
    /** Lowest fd number above every fd of the image: where pipe ends wait for their place. */
    private int parkAt;
    /** The fd numbers of the current task's image. */
    private java.util.Set<Integer> wantedNow = java.util.Set.of();

    /** Per-task state of handlers (e.g. the unix sockets made so far), dropped by each restoreFds. */
    private final Map<String, Object> taskState = new HashMap<>();

    /** Every fd table of the images: files_id -> its fdinfo entries (fdinfo-N.img, read on first use). */
    private final Map<Long, List<FdinfoEntry>> tables = new HashMap<>();
    /** fd tables already restored: files_id -> the task holding it. */
    private final Map<Long, Integer> restoredTables = new HashMap<>();
    /** The fd table being restored now. */
    private long currentTable = -1;
    /** file id -> {task, fd} where it was installed first. */
    private final Map<Integer, int[]> placed = new HashMap<>();
    /** Objects made in the current task that later tasks may want: key -> (fd in the task, which files want it). */
    private final Map<String, Made> madeHere = new LinkedHashMap<>();
    /** Objects of earlier tasks that later tasks want, held meanwhile by jcriu: key -> (jcriu's fd, which files want it). */
    private final Map<String, Made> kept = new HashMap<>();
    /** Keys of every object made so far, in any task. */
    private final java.util.Set<String> madeEver = new java.util.HashSet<>();
    /** pidfds injected in the current task: target pid -> pidfd in the task. */
    private final Map<Integer, Integer> pidfds = new HashMap<>();

    /** Saved SIGIO owners of the files installed so far: file id -> fown, set by {@link #restoreOwners}. */
    private final Map<Integer, org.jcriu.image.proto.FownEntry> owners = new LinkedHashMap<>();

    private record Made(int fd, java.util.function.Predicate<FileEntry> wantedBy) {}

    public FileRestorer(ImageDir dir, Options opts) {
        this.dir = dir;
        this.opts = opts;
        try (ImageReader r = dir.openOptional(ImageType.FILES)) {
            if (r != null) {
                FileEntry e;
                while ((e = r.read(FileEntry.parser())) != null) files.put(e.getId(), e);
            }
        }
        for (String s : opts.inheritFd) parseInherit(s);
        try (ImageReader r = dir.openOptional(ImageType.PIPES_DATA)) {
            if (r != null) {
                org.jcriu.image.proto.PipeDataEntry e;
                while ((e = r.read(org.jcriu.image.proto.PipeDataEntry.parser())) != null) {
                    pipeData.put(e.getPipeId(), new org.jcriu.files.pipe.PipeData.Content(e.getSize(), r.readRaw(e.getBytes())));
                }
            }
        }
    }

    /** --inherit-fd fd[N]:KEY */
    private void parseInherit(String s) {
        if (!s.startsWith("fd[") || s.indexOf("]:") < 0) {
            throw new CriuException("Bad --inherit-fd " + s + ": expected fd[N]:KEY, e.g. fd[3]:pipe:[12345]");
        }
        int close = s.indexOf("]:");
        int fd = Integer.parseInt(s.substring(3, close));
        inherit.put(s.substring(close + 2), fd);
    }

    /** The file_entry with {@code id}, or an error naming files.img. */
    public FileEntry file(int id) {
        FileEntry e = files.get(id);
        if (e == null) throw new CriuException("No file with id " + id + " in " + dir.path(ImageType.FILES));
        return e;
    }

    /** The task restore calls are working on (set by each public entry point). */
    public Task task() {
        return task;
    }

    /** The restore's options (handlers read e.g. --ext-unix-sk). */
    public Options options() {
        return opts;
    }

    /** The images being restored (for handlers with images of their own, e.g. memfd.img). */
    public ImageDir images() {
        return dir;
    }

    /** Opens the file of a file mapping (vma_entry.shmid) in {@code t}; returns the task's fd, which the caller closes. */
    public int openForMap(Task t, long fileId, int openFlags) {
        this.task = t;
        return FileHandlers.REG.openForMap(file((int) fileId), openFlags, this);
    }

    /**
     * An O_RDWR fd in {@code t} on memfd inode {@code inodeId} of memfd.img, to map: the same
     * memfd for every task and fd of the restore that reaches that inode.
     */
    public int openMemfdForMap(Task t, int inodeId) {
        this.task = t;
        return FileHandlers.MEMFD.openInode(inodeId, this);
    }

    /** cwd, root and umask from fs-PID.img. */
    public void restoreFs(Task t, int pid) {
        this.task = t;
        FsEntry fs;
        try (ImageReader r = dir.open(ImageType.FS, pid)) {
            fs = r.readOne(FsEntry.parser());
        }
        String root = file(fs.getRootId()).getReg().getName();
        RegFileEntry cwdReg = file(fs.getCwdId()).getReg();
        String cwd = cwdReg.getName();
        if (!root.equals("/")) {
            try (Scratch s = RegFileHandler.pathIn(t, root)) {
                t.syscall(Nr.CHROOT, s.addr());
            }
        }
        if (cwdReg.hasMntId()) {
            // a cwd whose path was overmounted at dump: entered through its mount (files/reg Overmounts)
            int fd = FileHandlers.REG.openIn(cwdReg, Linux.O_PATH | Linux.O_DIRECTORY, false, this);
            t.syscall(Nr.FCHDIR, fd);
            t.syscall(Nr.CLOSE, fd);
        } else {
            try (Scratch s = RegFileHandler.pathIn(t, cwd)) {
                t.syscall(Nr.CHDIR, s.addr());
            }
        }
        if (fs.hasUmask()) t.syscall(Nr.UMASK, fs.getUmask());
    }

    /**
     * Installs every fd of fdinfo-FILESID.img at its number with its FD_CLOEXEC, then closes
     * every other fd the task has (what it inherited from the seed). Called once per task of
     * the tree, parents before children; a files_id restored before in another task is that
     * task's fd table, shared (CLONE_FILES): nothing to do.
     */
    public void restoreFds(Task t, long filesId) {
        this.task = t;
        Integer owner = restoredTables.get(filesId);
        if (owner != null && owner != t.tid() && sameTable(owner, t.tid())) {
            LOG.debug("task %d shares the fd table %d of task %d", t.tid(), filesId, owner);
            restoreLocks(t); // POSIX locks of the table taken by this process (fl_pid)
            TtyHandler.fdsDone(this, t);
            return;
        }
        if (owner != null && owner != t.tid()) {
            // as CRIU: only a child cloned by the table's task can share it (CLONE_FILES)
            LOG.warn("task %d shared fd table %d with task %d at dump but was not cloned into it (not its child): "
                    + "restored as a copy, each file shared", t.tid(), filesId, owner);
        }
        pipes.clear();
        taskState.clear();
        madeHere.clear();
        pidfds.clear();
        currentTable = filesId;
        Map<Integer, List<FdinfoEntry>> byId = new LinkedHashMap<>();
        for (FdinfoEntry e : table(filesId)) byId.computeIfAbsent(e.getId(), k -> new ArrayList<>()).add(e);
        TreeSet<Integer> wanted = new TreeSet<>();
        for (List<FdinfoEntry> l : byId.values()) for (FdinfoEntry e : l) wanted.add(e.getFd());
        parkAt = wanted.isEmpty() ? 3 : wanted.last() + 1;
        wantedNow = wanted;
        installed.clear();
        // Files that wait for others (an epoll for the fds it watches) are retried after each
        // round that installed something; a round without progress means they never can.
        List<Map.Entry<Integer, List<FdinfoEntry>>> todo = new ArrayList<>(byId.entrySet());
        while (!todo.isEmpty()) {
            List<Map.Entry<Integer, List<FdinfoEntry>>> waiting = new ArrayList<>();
            String why = null;
            for (Map.Entry<Integer, List<FdinfoEntry>> g : todo) {
                String w = install(t, g.getKey(), g.getValue(), wanted);
                if (w != null) {
                    waiting.add(g);
                    if (why == null) why = "fd " + g.getValue().get(0).getFd() + " waits for " + w;
                }
            }
            if (waiting.size() == todo.size()) {
                throw new CriuException("Can't restore the fds of task " + t.tid() + ": " + why);
            }
            todo = waiting;
        }
        restoredTables.put(filesId, t.tid());
        keepForLater(t);
        for (int pidfd : pidfds.values()) t.syscall(Nr.CLOSE, pidfd);
        pidfds.clear();
        for (int[] ends : pipes.values()) {
            for (int end : ends) if (end >= 0 && !wanted.contains(end)) t.syscall(Nr.CLOSE, end);
        }
        pipes.clear();
        closeOthers(t, wanted);
        restoreLocks(t);
        List<Runnable> done = new ArrayList<>(whenDone);
        whenDone.clear();
        for (Runnable r : done) r.run();
        TtyHandler.fdsDone(this, t);
        currentTable = -1;
    }

    /**
     * Clone flags for the child {@code pid} that task {@code parent} is about to clone. A child
     * whose files_id is its parent's is cloned with CLONE_FILES, as CRIU decides (pstree.c,
     * get_clone_mask): the parent restores the table's fds and the child finds them there
     * ({@link #restoreFds} skips a table its task already shares). Beyond CRIU, children sharing a
     * table their parent does not have (it unshared or exec'd after cloning them) are cloned with
     * CLONE_FILES too, while the parent holds a fresh table made for them with
     * unshare(CLONE_FILES); {@link #childrenCloned} gives the parent a table of its own again.
     * That is done only for a parent that shares its own table with nobody; otherwise, and for a
     * group whose members are not cloned one after the other, each gets a copy (files shared).
     */
    public long cloneFlags(Task parent, int pid) {
        Tables t = tables();
        Long id = t.filesId.get(pid);
        int ppid = t.ppid.getOrDefault(pid, 0);
        if (id == null || ppid != parent.tid()) return 0; // a zombie, or cloned by a session helper
        long own = t.filesId.getOrDefault(ppid, -1L);
        if (id == own) return Linux.CLONE_FILES;
        if (!t.siblingTable(ppid, id)) return 0;
        Long held = t.holding.get(ppid);
        if (held != null && held.longValue() == id) return Linux.CLONE_FILES;
        if (!t.left.add(ppid + ":" + id)) {
            LOG.warn("task %d: fd table %d of its children is cloned again after another one: task %d gets a copy", ppid, id, pid);
            return 0;
        }
        parent.syscall(Nr.UNSHARE, Linux.CLONE_FILES);
        t.holding.put(ppid, id);
        LOG.debug("task %d holds a new fd table for its children sharing fd table %d", ppid, id);
        return Linux.CLONE_FILES;
    }

    /** {@code parent} has cloned its children: if it held a table made for some of them, it takes one of its own again. */
    public void childrenCloned(Task parent) {
        if (tables().holding.remove(parent.tid()) != null) parent.syscall(Nr.UNSHARE, Linux.CLONE_FILES);
    }

    /** Which fd tables the tasks of the tree had, from pstree.img and ids-PID.img (read on first use). */
    private static final class Tables {
        final Map<Integer, Long> filesId = new HashMap<>();
        final Map<Integer, Integer> ppid = new HashMap<>();
        final Map<Integer, List<Integer>> children = new HashMap<>();
        /** Parent -> the files_id of children its current table was made for. */
        final Map<Integer, Long> holding = new HashMap<>();
        /** parent:files_id of the children tables a parent has made and left. */
        final java.util.Set<String> left = new java.util.HashSet<>();

        /**
         * Whether {@code id}, not the table of {@code parent}, is shared by two of its children and
         * may be made for them in it: the parent's own table is shared with neither its parent nor a child.
         */
        boolean siblingTable(int parent, long id) {
            long own = filesId.getOrDefault(parent, -1L);
            Integer up = ppid.get(parent);
            if (up != null && filesId.containsKey(up) && filesId.get(up) == own) return false;
            int n = 0;
            for (int c : children.getOrDefault(parent, List.of())) {
                Long cid = filesId.get(c);
                if (cid == null) continue;
                if (cid == own) return false;
                if (cid == id) n++;
            }
            return n >= 2;
        }
    }

    private Tables tables() {
        return state(Tables.class, () -> {
            Tables t = new Tables();
            try (ImageReader r = dir.openOptional(ImageType.PSTREE)) {
                if (r == null) return t;
                org.jcriu.image.proto.PstreeEntry e;
                while ((e = r.read(org.jcriu.image.proto.PstreeEntry.parser())) != null) {
                    t.ppid.put(e.getPid(), e.getPpid());
                    t.children.computeIfAbsent(e.getPpid(), k -> new ArrayList<>()).add(e.getPid());
                }
            }
            for (int pid : t.ppid.keySet()) {
                try (ImageReader r = dir.openOptional(ImageType.IDS, pid)) {
                    if (r != null) t.filesId.put(pid, (long) r.readOne(org.jcriu.image.proto.TaskKobjIdsEntry.parser()).getFilesId());
                }
            }
            return t;
        });
    }

    /**
     * Task {@code t} has just called setsid() while the tree is created, before it clones the
     * tasks born in its session: it takes its session's controlling terminal now, so that they
     * inherit it (the kernel gives one only to a session leader that asks, and at fork).
     */
    public void newSession(Task t) {
        this.task = t;
        TtyHandler.newSession(this, t);
    }

    /**
     * What needs the fds of every task in place and every task and thread made: the SIGIO
     * owners of the files, then what handlers asked for with {@link #whenTreeDone} (e.g. a pty
     * locked again). Call once, after every task is filled.
     */
    public void finishTree() {
        restoreOwners();
        List<Runnable> done = new ArrayList<>(whenTreeDone);
        whenTreeDone.clear();
        for (Runnable r : done) r.run();
    }

    /** Runs {@code r} at {@link #finishTree}, once every task has its fds. */
    public void whenTreeDone(Runnable r) {
        whenTreeDone.add(r);
    }

    /**
     * Sets the SIGIO owner (F_SETOWN_EX) of every restored file that had one, once every task
     * and thread of the tree exists: the owner may be a task or thread made after the task that
     * opened the file. It is set on jcriu's own copy of the file (pidfd_getfd from the task that
     * holds it: the same struct file).
     */
    private void restoreOwners() {
        for (var o : owners.entrySet()) {
            int[] at = placed.get(o.getKey());
            int pidfd = Sys.pidfdOpen(at[0]);
            int local;
            try {
                local = Sys.pidfdGetfd(pidfd, at[1]);
            } finally {
                Sys.close(pidfd);
            }
            try {
                FileOwner.setOwner(local, o.getValue(), o.getKey());
            } catch (CriuException ex) {
                throw new CriuException(ex.errno(), "Can't restore fd " + at[1] + " of task " + at[0] + ": " + ex.getMessage(), ex);
            } finally {
                Sys.close(local);
            }
        }
        owners.clear();
    }

    private static boolean sameTable(int pid1, int pid2) {
        // kcmp(pid1, pid2, KCMP_FILES): 0 when both use one files_struct
        return Sys.raw(Nr.KCMP, pid1, pid2, 2, 0, 0) == 0;
    }

    /** The fds of fd table {@code filesId} (fdinfo-N.img; none when the image is missing). */
    private List<FdinfoEntry> table(long filesId) {
        return tables.computeIfAbsent(filesId, id -> {
            List<FdinfoEntry> l = new ArrayList<>();
            try (ImageReader r = dir.openOptional(ImageType.FDINFO, id)) {
                if (r != null) {
                    FdinfoEntry e;
                    while ((e = r.read(FdinfoEntry.parser())) != null) l.add(e);
                }
            }
            return l;
        });
    }

    /**
     * files_id of every fdinfo-N.img in the images directory, read once: which fd tables are
     * still to come is what decides whether an object made now must be kept for later.
     */
    private java.util.Set<Long> allTables() {
        return state(FileRestorer.class, () -> {
            java.util.Set<Long> ids = new java.util.TreeSet<>();
            try (var ds = Files.newDirectoryStream(dir.dir(), "fdinfo-*.img")) {
                for (Path p : ds) {
                    String n = p.getFileName().toString();
                    try {
                        ids.add(Long.parseLong(n.substring(7, n.length() - 4)));
                    } catch (NumberFormatException e) {
                        // not one of ours
                    }
                }
            } catch (java.io.IOException e) {
                throw new CriuException("Can't list " + dir.dir() + ": " + e.getMessage());
            }
            return ids;
        });
    }

    /** Whether an fd table not restored yet holds a file {@code wantedBy} accepts. */
    public boolean wantedLater(java.util.function.Predicate<FileEntry> wantedBy) {
        for (long id : allTables()) {
            if (id == currentTable || restoredTables.containsKey(id)) continue;
            for (FdinfoEntry e : table(id)) {
                FileEntry fe = files.get(e.getId());
                if (fe != null && wantedBy.test(fe)) return true;
            }
        }
        return false;
    }

    /**
     * End of a task's fds: what it made that later tasks want is copied into jcriu (the task's
     * spare copies are closed next); what jcriu kept that no later task wants is let go.
     */
    private void keepForLater(Task t) {
        int pidfd = -1;
        try {
            for (var m : madeHere.entrySet()) {
                if (kept.containsKey(m.getKey()) || !wantedLater(m.getValue().wantedBy())) continue;
                if (pidfd < 0) pidfd = Sys.pidfdOpen(t.tid());
                kept.put(m.getKey(), new Made(Sys.pidfdGetfd(pidfd, m.getValue().fd()), m.getValue().wantedBy()));
                LOG.debug("task %d: %s kept for a later task", t.tid(), m.getKey());
            }
        } finally {
            if (pidfd >= 0) Sys.close(pidfd);
        }
        madeHere.clear();
        for (var it = kept.entrySet().iterator(); it.hasNext(); ) {
            var k = it.next();
            if (!wantedLater(k.getValue().wantedBy())) {
                Sys.close(k.getValue().fd());
                it.remove();
            }
        }
    }

    /**
     * Records that the current task holds object {@code key} (a pipe end, a socket) at fd
     * {@code fd}, made here; when its fds are all in place and a later fd table has a file
     * {@code wantedBy} accepts, jcriu keeps a copy for {@link #takeMade}. Call again if the fd moves.
     */
    public void made(String key, int fd, java.util.function.Predicate<FileEntry> wantedBy) {
        madeHere.put(key, new Made(fd, wantedBy));
        madeEver.add(key);
    }

    /** Whether object {@code key} was made in this task or an earlier one. */
    public boolean wasMade(String key) {
        return madeEver.contains(key);
    }

    /**
     * Object {@code key} made in an earlier task and kept for this one, now also in the current
     * task (parked above the image's fds, see {@link #park}); -1 when jcriu keeps no such object.
     */
    public int takeMade(String key) {
        Made k = kept.get(key);
        if (k == null) return -1;
        int fd = park(pullFrom(restorerPid, k.fd()));
        made(key, fd, k.wantedBy());
        return fd;
    }

    /** Frees what jcriu still keeps for tasks never restored (a failed restore). */
    public void close() {
        for (Made k : kept.values()) Sys.close(k.fd());
        kept.clear();
        for (Object st : handlerState.values()) {
            if (st instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("closing %s: %s", st.getClass().getSimpleName(), e.getMessage());
                }
            }
        }
        handlerState.clear();
    }

    /** pidfd_getfd injected in the current task: its own copy of {@code fd} of process {@code pid}. */
    private int pullFrom(int pid, int fd) {
        Integer pidfd = pidfds.get(pid);
        if (pidfd == null) {
            // parked: at a low number, installing a file there (dup3) would replace it
            pidfd = park((int) task.syscall(Nr.PIDFD_OPEN, pid, 0));
            pidfds.put(pid, pidfd);
        }
        return (int) task.syscall(Nr.PIDFD_GETFD, pidfd, fd, 0);
    }

    /**
     * The file locks the task held, taken again now that its fds are in place. As CRIU, only
     * with -l: without it the locks in the images are left behind (said in the log).
     */
    private void restoreLocks(Task t) {
        List<org.jcriu.image.proto.FileLockEntry> locks = org.jcriu.files.lock.FileLocks.read(dir, t.tid());
        if (locks.isEmpty()) return;
        if (!opts.fileLocks) {
            LOG.warn("task %d held %d file lock(s) at dump; not taken again without --file-locks (-l)", t.tid(), locks.size());
            return;
        }
        for (var l : locks) org.jcriu.files.lock.FileLocks.restore(t, l);
    }

    /** Opens file {@code id} and puts it at its fds; returns what it waits for, or null once installed. */
    private String install(Task t, int id, List<FdinfoEntry> fds, TreeSet<Integer> wanted) {
        FileEntry fe = file(id);
        FileHandler h = FileHandlers.byType(fe.getType());
        int[] at = placed.get(id);
        boolean shared = at != null && at[0] != t.tid();
        int opened;
        try {
            if (shared) {
                // the open file description an earlier task of the tree holds: shared again
                opened = pullFrom(at[0], at[1]);
            } else {
                switch (h.tryOpen(fe, this)) {
                    case Opening.NotYet n -> {
                        return n.waitingFor();
                    }
                    case Opening.Opened o -> opened = o.fd();
                }
            }
        } catch (CriuException ex) {
            throw new CriuException(ex.errno(), "Can't restore fd " + fds.get(0).getFd() + " of task " + t.tid()
                    + " (" + h.name() + " file id " + fe.getId() + (shared ? ", shared with task " + at[0] : "") + "): "
                    + ex.getMessage(), ex);
        }
        for (FdinfoEntry e : fds) {
            int cloexec = (e.getFlags() & Linux.FD_CLOEXEC) != 0 ? Linux.O_CLOEXEC : 0;
            if (e.getFd() != opened) {
                t.syscall(Nr.DUP3, opened, e.getFd(), cloexec);
            } else {
                t.syscall(Nr.FCNTL, opened, Linux.F_SETFD, cloexec != 0 ? Linux.FD_CLOEXEC : 0);
            }
            installed.add(e.getFd());
        }
        int first = fds.get(0).getFd();
        // After the fd has its number: F_SETFL(O_ASYNC) records the fd number the kernel then
        // reports as si_fd in the signal, so it must be the task's, not a temporary one. A shared
        // file has its signal and owner already (they belong to the open file description).
        if (!shared) {
            try {
                var fown = FileOwner.restore(t, fe, first);
                if (fown != null) owners.put(id, fown);
            } catch (CriuException ex) {
                throw new CriuException(ex.errno(), "Can't restore fd " + first + " of task " + t.tid() + ": " + ex.getMessage(), ex);
            }
        }
        if (!wanted.contains(opened) && !isPipeEnd(opened)) {
            t.syscall(Nr.CLOSE, opened);
            // an object made here and recorded at its temporary number is now at its place
            for (var m : madeHere.entrySet()) {
                if (m.getValue().fd() == opened) m.setValue(new Made(first, m.getValue().wantedBy()));
            }
        }
        placed.putIfAbsent(id, new int[] {t.tid(), first});
        LOG.debug("task %d: %s file id %d -> fds %s%s", t.tid(), h.name(), fe.getId(), fds.stream().map(FdinfoEntry::getFd).toList(),
                shared ? " (shared with task " + at[0] + ")" : "");
        return null;
    }

    /**
     * Whether fd {@code fd} of the current task already holds its file from the image (a number
     * may meanwhile hold a file still on its way to another number).
     */
    public boolean installed(int fd) {
        return installed.contains(fd);
    }

    /**
     * State a handler keeps for the whole restore (e.g. memfd inodes already made), created by
     * {@code make} on first use.
     */
    @SuppressWarnings("unchecked")
    public <T> T state(Object key, java.util.function.Supplier<T> make) {
        return (T) handlerState.computeIfAbsent(key, k -> make.get());
    }

    /** Runs {@code r} when the fds of the current task are all in place (e.g. closes jcriu's own copies). */
    public void whenDone(Runnable r) {
        whenDone.add(r);
    }

    private void closeOthers(Task t, TreeSet<Integer> wanted) {
        Path fdDir = Path.of("/proc", Integer.toString(t.tid()), "fd");
        try (var ds = Files.newDirectoryStream(fdDir)) {
            for (Path p : ds) {
                int fd = Integer.parseInt(p.getFileName().toString());
                if (!wanted.contains(fd)) t.syscall(Nr.CLOSE, fd);
            }
        } catch (java.io.IOException ex) {
            throw new CriuException("Can't list " + fdDir + ": " + ex.getMessage());
        }
    }

    // ---------------------------------------------------------------- helpers for handlers

    /** open(path, flags) inside the task. */
    public int openPath(String path, int flags) {
        try (Scratch s = RegFileHandler.pathIn(task, path)) {
            return (int) task.syscall(Nr.OPENAT, Linux.AT_FDCWD, s.addr(), flags | Linux.O_NOCTTY, 0);
        } catch (CriuException ex) {
            throw new CriuException(ex.errno(), "open(" + path + ") in task " + task.tid() + ": " + ex.getMessage(), ex);
        }
    }

    /** jcriu's fd for {@code key} from --inherit-fd fd[N]:KEY, or -1. */
    public int inheritedFd(String key) {
        Integer fd = inherit.get(key);
        return fd == null ? -1 : fd;
    }

    /**
     * A copy of jcriu's own fd {@code restorerFd} inside the task (pidfd_getfd: the same open file
     * description), with the file status flags ({@code O_NONBLOCK}, {@code O_APPEND}) of the image.
     */
    public int pullFromRestorer(int restorerFd, int fileFlags) {
        int pidfd = (int) task.syscall(Nr.PIDFD_OPEN, restorerPid, 0);
        int fd;
        try {
            fd = (int) task.syscall(Nr.PIDFD_GETFD, pidfd, restorerFd, 0);
        } finally {
            task.syscall(Nr.CLOSE, pidfd);
        }
        int settable = Linux.O_APPEND | Linux.O_NONBLOCK;
        long cur = task.syscall(Nr.FCNTL, fd, Linux.F_GETFL);
        if ((cur & settable) != (fileFlags & settable)) {
            task.syscall(Nr.FCNTL, fd, Linux.F_SETFL, (cur & ~settable) | (fileFlags & settable));
        }
        return fd;
    }

    /** Both ends of a pipe made in the task; {@code fresh} the first time it is asked for. */
    public record PipeEnds(int read, int write, boolean fresh) {}

    /** The pipe standing for {@code pipeId} in the current task, made with pipe2 on first use. */
    public PipeEnds pipe(int pipeId) {
        int[] ends = pipes.get(pipeId);
        boolean fresh = ends == null;
        if (ends == null) {
            // made in an earlier task (which holds one end, or none): the same pipe
            int r = takeMade(pipeKey(pipeId, 0));
            if (r >= 0) {
                ends = new int[] {r, takeMade(pipeKey(pipeId, 1))};
                pipes.put(pipeId, ends);
                return new PipeEnds(ends[0], ends[1], false);
            }
        }
        if (ends == null) {
            try (Scratch s = task.scratch(8)) {
                task.syscall(Nr.PIPE2, s.addr(), 0);
                byte[] b = s.get(0, 8);
                ends = new int[] {le32(b, 0), le32(b, 4)};
            }
            // Both ends wait above every fd of the image, so that installing another file at
            // the number pipe2 happened to return cannot close an end still needed.
            for (int i = 0; i < 2; i++) ends[i] = moveAbove(ends[i]);
            pipes.put(pipeId, ends);
            java.util.function.Predicate<FileEntry> samePipe = fe -> fe.getType() == org.jcriu.image.proto.FdTypes.PIPE
                    && fe.getPipe().getPipeId() == pipeId;
            made(pipeKey(pipeId, 0), ends[0], samePipe);
            made(pipeKey(pipeId, 1), ends[1], samePipe);
        }
        return new PipeEnds(ends[0], ends[1], fresh);
    }

    private static String pipeKey(int pipeId, int end) {
        return "pipe:" + Integer.toUnsignedString(pipeId) + (end == 0 ? ":r" : ":w");
    }

    /** What pipes-data.img holds for {@code pipeId}, or null. */
    public org.jcriu.files.pipe.PipeData.Content pipeData(int pipeId) {
        return pipeData.get(pipeId);
    }

    private boolean isPipeEnd(int fd) {
        for (int[] ends : pipes.values()) if (ends[0] == fd || ends[1] == fd) return true;
        return false;
    }

    /** Every file_entry of files.img. */
    public java.util.Collection<FileEntry> allFiles() {
        return java.util.Collections.unmodifiableCollection(files.values());
    }

    /** State handler {@code key} keeps while the fds of the current task are restored. */
    @SuppressWarnings("unchecked")
    public <T> T taskState(String key, java.util.function.Supplier<T> make) {
        return (T) taskState.computeIfAbsent(key, k -> make.get());
    }

    /**
     * Moves the task's fd {@code fd} above every fd number of the image (see {@link #pipe}), so
     * that placing other files cannot close it before its own turn; returns the new number.
     * Parked fds no fd of the image ends up using are closed at the end of restoreFds.
     */
    public int park(int fd) {
        if (fd >= parkAt) return fd;
        int parked = moveAbove(fd);
        for (var m : madeHere.entrySet()) {
            if (m.getValue().fd() == fd) m.setValue(new Made(parked, m.getValue().wantedBy()));
        }
        return parked;
    }

    /**
     * Moves {@code fd} above every fd number of the image. When the image's highest fd is at the
     * task's RLIMIT_NOFILE there is no room above: then any free number the image does not use
     * will do (installing files only ever replaces the image's numbers).
     */
    private int moveAbove(int fd) {
        int parked;
        try {
            parked = (int) task.syscall(Nr.FCNTL, fd, Linux.F_DUPFD, parkAt);
        } catch (org.jcriu.sys.ErrnoException e) {
            if (e.errno() != org.jcriu.sys.Errno.EINVAL && e.errno() != org.jcriu.sys.Errno.EMFILE) throw e;
            if (!wantedNow.contains(fd)) return fd;
            int from = 3;
            while (true) {
                parked = (int) task.syscall(Nr.FCNTL, fd, Linux.F_DUPFD, from);
                if (!wantedNow.contains(parked)) break;
                task.syscall(Nr.CLOSE, parked);
                from = parked + 1;
            }
        }
        task.syscall(Nr.CLOSE, fd);
        return parked;
    }

    /** jcriu's own fd (0, 1 or 2) that is a terminal, or -1. */
    public int restorerTerminalFd() {
        for (int fd = 0; fd <= 2; fd++) if (TtyHandler.isTty("/proc/self/fd/" + fd)) return fd;
        return -1;
    }

    private static int le32(byte[] b, int o) {
        return (b[o] & 0xff) | (b[o + 1] & 0xff) << 8 | (b[o + 2] & 0xff) << 16 | (b[o + 3] & 0xff) << 24;
    }
}

package org.jcriu.files.reg;

import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.FownEntry;
import org.jcriu.image.proto.RegFileEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * Regular files, directories and the stateless memory character devices (/dev/null, /dev/zero,
 * /dev/urandom, ...), all reopened by path (CRIU's reg files). The size of a regular file is
 * recorded and checked on restore: a file that changed size since the dump would hand the task a
 * position that no longer matches the data it wrote.
 */
public final class RegFileHandler implements FileHandler {
    private static final Logger LOG = Log.get("reg");
    /** Flags that only made sense when the file was first opened. */
    private static final int OPEN_ONLY = Linux.O_CREAT | Linux.O_EXCL | Linux.O_TRUNC | Linux.O_CLOEXEC;

    static final FownEntry NO_OWNER = FownEntry.newBuilder().setUid(0).setEuid(0).setSignum(0).setPidType(0).setPid(0).build();

    @Override
    public FdTypes type() {
        return FdTypes.REG;
    }

    @Override
    public String name() {
        return "reg";
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        if (isLinkRemap(fd)) {
            String path = fd.link().substring(0, fd.link().length() - DELETED.length());
            LinkRemaps.dump(fd, path, id, files);
            RegFileEntry.Builder b = entry(fd.link(), fd.stat(), fd.fileFlags(), id, files.options(), NO_CHECK, null).setName(path)
                    .clearBuildId().setPos(fd.info().pos());
            return FileEntry.newBuilder().setType(FdTypes.REG).setId(id).setReg(b).build();
        }
        if (isGhost(fd)) {
            // the name it had, for the ghost to be re-created next to; no build-id: whatever
            // now sits at that path is another file
            String path = fd.link().substring(0, fd.link().length() - DELETED.length());
            GhostFiles.of(files).dump(fd, path, id, files);
            RegFileEntry.Builder b = RegFileEntry.newBuilder().setId(id).setFlags(fd.fileFlags()).setPos(fd.info().pos())
                    .setFown(NO_OWNER).setName(path).setMode(fd.stat().mode());
            if (fd.stat().isReg()) b.setSize(fd.stat().size());
            return FileEntry.newBuilder().setType(FdTypes.REG).setId(id).setReg(b).build();
        }
        RegFileEntry.Builder b = entry(fd.link(), fd.stat(), fd.fileFlags(), id, files.options(), fd.info().mntId(), fd.describe())
                .setPos(fd.info().pos());
        return FileEntry.newBuilder().setType(FdTypes.REG).setId(id).setReg(b).build();
    }

    private static final String DELETED = " (deleted)";

    /**
     * An open regular file whose name was unlinked while another hard link keeps it (st_nlink
     * above 0): dumped through a link made for it, with --link-remap (see {@link LinkRemaps}).
     */
    public static boolean isLinkRemap(OpenFd fd) {
        return fd.stat().isReg() && fd.link().startsWith("/") && fd.link().endsWith(DELETED) && fd.stat().nlink() > 0;
    }

    /**
     * An open file with no name left: a regular file (its contents travel as a ghost file), a
     * directory that was removed, or a named FIFO that was unlinked (both re-created empty,
     * as CRIU does: a removed directory has no entries, and a FIFO's bytes are in fifo-data.img).
     */
    public static boolean isGhost(OpenFd fd) {
        Stat st = fd.stat();
        return (st.isReg() || st.isDir() || st.isFifo()) && fd.link().startsWith("/") && fd.link().endsWith(DELETED) && st.nlink() == 0;
    }

    /**
     * The mapped file of a mapping whose file's name is gone (smaps "PATH (deleted)"), reached
     * through {@code proc} (its /proc/PID/map_files link): as CRIU, a reg file under its old name
     * remapped to a ghost file that holds the contents when no link is left (shared writes
     * included: they are in the file), so restore maps a re-created copy, unlinked again once the
     * tree is restored; with --link-remap, to a new hard link when another one keeps the file.
     */
    public FileEntry dumpUnlinkedMapping(String proc, String who, String path, Stat st, int flags, int id, DumpFiles files) {
        if (st.nlink() > 0) {
            // another hard link keeps it: linked back at restore through a link made now (--link-remap)
            if (!files.options().linkRemap) {
                throw new CriuException("Can't dump " + who + ": the file was unlinked but has " + st.nlink()
                        + " other hard link(s); dump with --link-remap to link it back at restore");
            }
            LinkRemaps.dump(proc, who, path, id, files);
        } else {
            GhostFiles.of(files).dump(proc, who, st, path, id, files);
        }
        RegFileEntry.Builder b = RegFileEntry.newBuilder().setId(id).setFlags(flags).setPos(0).setFown(NO_OWNER).setName(path)
                .setMode(st.mode()).setSize(st.size());
        return FileEntry.newBuilder().setType(FdTypes.REG).setId(id).setReg(b).build();
    }

    /** A file referenced by path (mapping, exe, cwd, root): position 0. */
    public FileEntry dumpPath(String path, Stat st, int flags, int id, Options opts) {
        return FileEntry.newBuilder().setType(FdTypes.REG).setId(id).setReg(entry(path, st, flags, id, opts, 0, "file " + path)).build();
    }

    /** {@link #entry}'s fdMntId when the path is known not to name the file any more (a link remap). */
    private static final int NO_CHECK = -1;

    /**
     * The reg_file_entry of {@code path}; {@code fdMntId} is the mount fdinfo names (0: no fd,
     * -1: do not check the path). A path that a mount now covers gets the mount it is reached
     * through in mnt_id (see {@link Overmounts}).
     */
    /**
     * A device is reopened by its path: the path must still name the node the file was opened
     * through, or, with --evasive-devices, any node of the same device (CRIU's rule: the same
     * major:minor and type opens the same device).
     */
    private static void checkDeviceNode(String path, Stat st, boolean evasive, String who) {
        Stat now;
        try {
            now = Sys.stat(path);
        } catch (ErrnoException e) {
            return; // gone: the deleted-file rules apply, as for any name
        }
        if (now.dev() == st.dev() && now.ino() == st.ino()) return;
        if (now.type() == st.type() && now.rdev() == st.rdev()) {
            if (evasive) {
                LOG.info("%s: %s is another node of the same device (--evasive-devices)", who, path);
                return;
            }
            throw new CriuException(String.format("Can't dump %s: its path %s is now another node of device %d:%d; "
                    + "--evasive-devices accepts any node of the same device", who, path, major(st.rdev()), minor(st.rdev())));
        }
        throw new CriuException(String.format("Can't dump %s: its path %s now leads to another file, need device %d:%d",
                who, path, major(st.rdev()), minor(st.rdev())));
    }

    /** glibc's gnu_dev_major / gnu_dev_minor. */
    private static long major(long dev) {
        return ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
    }

    private static long minor(long dev) {
        return (dev & 0xff) | ((dev >>> 12) & ~0xffL);
    }

    private static RegFileEntry.Builder entry(String path, Stat st, int flags, int id, Options opts, int fdMntId, String who) {
        if (!path.startsWith("/")) throw new CriuException("Can't dump file " + path + ": not a path jcriu can reopen");
        RegFileEntry.Builder b = RegFileEntry.newBuilder().setId(id).setFlags(flags).setPos(0).setFown(NO_OWNER)
                .setName(path).setMode(st.mode());
        if (fdMntId != NO_CHECK && (st.isReg() || st.isDir() || st.isFifo())) {
            int mnt = Overmounts.hiddenMount(path, st, fdMntId, who);
            if (mnt >= 0) b.setMntId(mnt);
        } else if (fdMntId != NO_CHECK && (st.isChr() || st.type() == Linux.S_IFBLK)) {
            checkDeviceNode(path, st, opts != null && opts.evasiveDevices, who);
        }
        if (st.isReg() && shouldCheckSize(flags)) {
            b.setSize(st.size());
            // the build-id is read by path: not for a file whose path leads elsewhere
            if ((opts == null || !"filesize".equals(opts.fileValidation)) && !b.hasMntId()) {
                byte[] bid = buildId(path);
                if (bid != null) b.addAllBuildId(BuildId.words(bid));
            }
        }
        return b;
    }

    /**
     * As CRIU: a file open write-only with O_APPEND (a log) is expected to grow while the task
     * is away, so its size is not recorded and not checked.
     */
    private static boolean shouldCheckSize(int flags) {
        return !((flags & Linux.O_ACCMODE) == Linux.O_WRONLY && (flags & Linux.O_APPEND) != 0);
    }

    /** The file's build-id if it is an ELF object with one; a file we cannot read just has none. */
    private static byte[] buildId(String path) {
        try {
            return BuildId.of(java.nio.file.Path.of(path));
        } catch (CriuException ex) {
            LOG.debug("no build-id for %s: %s", path, ex.getMessage());
            return null;
        }
    }

    @Override
    public int open(FileEntry e, FileRestorer r) {
        RegFileEntry reg = e.getReg();
        Task task = r.task();
        int flags = reg.getFlags() & ~OPEN_ONLY;
        int fd = openIn(reg, flags, true, r);
        if (reg.getPos() != 0) task.syscall(Nr.LSEEK, fd, reg.getPos(), Linux.SEEK_SET);
        LOG.debug("opened %s as fd %d in task %d (flags 0%o, pos %d)", reg.getName(), fd, task.tid(), flags, reg.getPos());
        return fd;
    }

    /** Opens the file of a mapping for mmap() in the task (no position, no O_APPEND games). */
    public int openForMap(FileEntry e, int flags, FileRestorer r) {
        return openIn(e.getReg(), flags, false, r);
    }

    /**
     * Opens reg file {@code reg} (checked against the image first) in the current task with
     * {@code flags}: by its path, by the file re-created for it (ghost, link remap), or, when
     * its path was overmounted at dump (mnt_id), through a clone of its mount, opened by jcriu
     * and handed to the task. Used by reg files, mappings and named FIFOs.
     */
    public int openIn(RegFileEntry reg, int flags, boolean buildId, FileRestorer r) {
        Remaps remaps = Remaps.of(r);
        if (reg.hasMntId() && !remaps.remapped(reg)) {
            int own = Overmounts.open(reg.getName(), reg.getMntId(), flags);
            try {
                validate(reg, Sys.fstat(own), "/proc/self/fd/" + own, r.options(), buildId);
                int fd = r.pullFromRestorer(own, flags);
                LOG.info("%s (id %d) opened through mount %d: its path is overmounted", reg.getName(), reg.getId(), reg.getMntId());
                return fd;
            } finally {
                Sys.close(own);
            }
        }
        String path = remaps.pathFor(reg, r);
        validate(reg, path, r.options(), buildId);
        return r.openPath(path, flags);
    }

    /**
     * Checks that {@code path} is still the file that was dumped (CRIU's validate_file): same
     * mode (type and, unless --skip-file-rwx-check, permission bits), same size when one was
     * recorded, and with --file-validation buildid (the default) the same ELF build-id when the
     * image has one (a file without a build-id now is validated by size only).
     */
    private static void validate(RegFileEntry reg, String path, Options opts, boolean buildId) {
        Stat st;
        try {
            st = Sys.stat(path);
        } catch (ErrnoException ex) {
            throw new CriuException(ex.errno(), "Can't restore file " + reg.getName() + " (id " + reg.getId() + "): " + ex.getMessage());
        }
        validate(reg, st, path, opts, buildId);
    }

    /** {@link #validate(RegFileEntry, String, Options, boolean)} of a file already stat'ed; {@code path} is read for its build-id. */
    private static void validate(RegFileEntry reg, Stat st, String path, Options opts, boolean buildId) {
        if (reg.hasMode() && (st.mode() & Linux.S_IFMT) != (reg.getMode() & Linux.S_IFMT)) {
            throw new CriuException(String.format("File %s (id %d) changed type since the dump: mode 0%o, expected 0%o",
                    reg.getName(), reg.getId(), st.mode(), reg.getMode()));
        }
        if (reg.hasSize() && st.isReg() && st.size() != reg.getSize()) {
            throw new CriuException(String.format("File %s (id %d) has bad size %d (expect %d)",
                    reg.getName(), reg.getId(), st.size(), reg.getSize()));
        }
        if (reg.hasMode()) {
            int rwx = opts.skipFileRwxCheck ? ~0777 : ~0;
            if ((st.mode() & rwx) != (reg.getMode() & rwx)) {
                throw new CriuException(String.format("File %s (id %d) has bad mode 0%o (expect 0%o); "
                        + "file r/w/x checks can be skipped with --skip-file-rwx-check", reg.getName(), reg.getId(), st.mode(), reg.getMode()));
            }
        }
        // mapped files had their build-id checked already, by the restore's check of every mapping
        if (buildId && reg.getBuildIdCount() > 0 && st.isReg() && !"filesize".equals(opts.fileValidation)) {
            byte[] now = buildId(path);
            if (now == null) {
                LOG.info("File %s could only be validated with file size", reg.getName());
            } else if (!BuildId.words(now).equals(reg.getBuildIdList())) {
                throw new CriuException(String.format("File %s (id %d) has bad build-ID (it is not the executable that was dumped; "
                        + "--file-validation filesize checks only its size)", reg.getName(), reg.getId()));
            }
        }
    }

    /** Writes {@code path} into a scratch buffer of {@code task}; the caller closes it. */
    public static Scratch pathIn(Task task, String path) {
        Scratch s = task.scratch(path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1);
        s.putString(0, path);
        return s;
    }
}

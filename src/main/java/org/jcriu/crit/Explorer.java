package org.jcriu.crit;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.FdinfoEntry;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.FsEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PagemapEntry;
import org.jcriu.image.proto.PagemapHead;
import org.jcriu.image.proto.PipeEntry;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.image.proto.RegFileEntry;
import org.jcriu.image.proto.TaskKobjIdsEntry;
import org.jcriu.image.proto.UnixSkEntry;
import org.jcriu.image.proto.VmaEntry;

/**
 * crit's "x" explorers over an images directory, printing exactly what crit prints. Unlike
 * crit, a task without ids/mm/pagemap images (a zombie has none: it has no memory or files
 * left) is listed by pid with nothing under it instead of crashing the whole listing.
 */
final class Explorer {
    private static final int VMA_AREA_REGULAR = 1;
    private static final int VMA_AREA_STACK = 1 << 1;
    private static final int VMA_AREA_VSYSCALL = 1 << 2;
    private static final int VMA_AREA_VDSO = 1 << 3;
    private static final int VMA_FILE_PRIVATE = 1 << 6;
    private static final int VMA_FILE_SHARED = 1 << 7;
    private static final int VMA_ANON_SHARED = 1 << 8;
    private static final int VMA_AREA_SYSVIPC = 1 << 10;
    private static final int VMA_AREA_SOCKET = 1 << 11;
    private static final int MAP_GROWSDOWN = 0x100;

    private final ImageDir dir;
    private final PrintStream out;
    private List<FileEntry> files;
    private final Map<String, List<?>> legacy = new HashMap<>();
    private final Map<String, String> fileCache = new HashMap<>();

    Explorer(Path dir, PrintStream out) {
        this.dir = new ImageDir(dir);
        this.out = out;
    }

    void run(String what) {
        switch (what) {
            case "ps" -> ps();
            case "fds" -> fds();
            case "mems" -> mems();
            case "rss" -> rss();
            default -> throw new IllegalArgumentException(what);
        }
    }

    private <T> List<T> all(ImageType t, com.google.protobuf.Parser<T> p, Object... args) {
        List<T> l = new ArrayList<>();
        try (ImageReader r = dir.open(t, args)) {
            T m;
            while ((m = r.read(p)) != null) {
                l.add(m);
            }
        }
        return l;
    }

    private <T> T one(ImageType t, com.google.protobuf.Parser<T> p, Object... args) {
        try (ImageReader r = dir.open(t, args)) {
            return r.readOne(p);
        }
    }

    private List<PstreeEntry> tasks() {
        return all(ImageType.PSTREE, PstreeEntry.parser());
    }

    private void ps() {
        Map<Integer, PstreeEntry> byPid = new LinkedHashMap<>();
        Map<Integer, String> comm = new HashMap<>();
        Map<Integer, List<Integer>> kids = new HashMap<>();
        for (PstreeEntry p : tasks()) {
            byPid.put(p.getPid(), p);
            comm.put(p.getPid(), one(ImageType.CORE, CoreEntry.parser(), Integer.toUnsignedLong(p.getPid())).getTc().getComm());
        }
        Integer root = null;
        for (PstreeEntry p : byPid.values()) {
            if (p.getPpid() == 0) {
                root = p.getPid();
            } else {
                kids.computeIfAbsent(p.getPpid(), k -> new ArrayList<>()).add(p.getPid());
            }
        }
        out.print(String.format("%7s%7s%7s   %s\n", "PID", "PGID", "SID", "COMM"));
        if (root != null) {
            showPs(root, 0, byPid, comm, kids);
        }
    }

    private void showPs(int pid, int depth, Map<Integer, PstreeEntry> byPid, Map<Integer, String> comm, Map<Integer, List<Integer>> kids) {
        PstreeEntry p = byPid.get(pid);
        out.print(String.format("%7d%7d%7d   %s%s\n", Integer.toUnsignedLong(pid), Integer.toUnsignedLong(p.getPgid()),
                Integer.toUnsignedLong(p.getSid()), " ".repeat(4 * depth), comm.get(pid)));
        for (int k : kids.getOrDefault(pid, List.of())) {
            showPs(k, depth + 1, byPid, comm, kids);
        }
    }

    private void fds() {
        for (PstreeEntry p : tasks()) {
            long pid = Integer.toUnsignedLong(p.getPid());
            if (!dir.exists(ImageType.IDS, pid)) {
                out.print(pid + "\n");
                continue;
            }
            long filesId = Integer.toUnsignedLong(one(ImageType.IDS, TaskKobjIdsEntry.parser(), pid).getFilesId());
            List<FdinfoEntry> fds = dir.exists(ImageType.FDINFO, filesId) ? all(ImageType.FDINFO, FdinfoEntry.parser(), filesId) : List.of();
            out.print(pid + "\n");
            for (FdinfoEntry fd : fds) {
                out.print(String.format("\t%7d: %s\n", Integer.toUnsignedLong(fd.getFd()), fileStr(fd.getType().name(), fd.getId())));
            }
            if (dir.exists(ImageType.FS, pid)) {
                FsEntry fs = one(ImageType.FS, FsEntry.parser(), pid);
                out.print(String.format("\t%7s: %s\n", "cwd", fileStr("REG", fs.getCwdId())));
                out.print(String.format("\t%7s: %s\n", "root", fileStr("REG", fs.getRootId())));
            }
        }
    }

    private void mems() {
        Map<Long, Integer> vids = new HashMap<>();
        for (PstreeEntry p : tasks()) {
            long pid = Integer.toUnsignedLong(p.getPid());
            out.print(pid + "\n");
            if (!dir.exists(ImageType.MM, pid)) {
                continue;
            }
            MmEntry mm = one(ImageType.MM, MmEntry.parser(), pid);
            out.print(String.format("\t%-36s    %s\n", "exe", fileStr("REG", mm.getExeFileId())));
            for (VmaEntry vma : mm.getVmasList()) {
                int st = vma.getStatus();
                String fn;
                if ((st & VMA_AREA_SYSVIPC) != 0) {
                    fn = " ips[" + Integer.toHexString(vid(vids, vma.getShmid())) + "]";
                } else if ((st & VMA_ANON_SHARED) != 0) {
                    fn = " shmem[" + Integer.toHexString(vid(vids, vma.getShmid())) + "]";
                } else if ((st & VMA_AREA_SOCKET) != 0) {
                    fn = " packet[" + Integer.toHexString(vid(vids, vma.getShmid())) + "]";
                } else if ((st & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) != 0) {
                    fn = " " + fileStr("REG", (int) vma.getShmid());
                    if (vma.getPgoff() != 0) {
                        fn += " + 0x" + Long.toHexString(vma.getPgoff());
                    }
                    if ((st & VMA_FILE_SHARED) != 0) {
                        fn += " (s)";
                    }
                } else if ((st & VMA_AREA_STACK) != 0) {
                    fn = " [stack]";
                } else if ((st & VMA_AREA_VSYSCALL) != 0) {
                    fn = " [vsyscall]";
                } else if ((st & VMA_AREA_VDSO) != 0) {
                    fn = " [vdso]";
                } else if ((vma.getFlags() & MAP_GROWSDOWN) != 0) {
                    fn = " [stack?]";
                } else {
                    fn = "";
                }
                if ((st & VMA_AREA_REGULAR) == 0) {
                    fn += " *";
                }
                int prot = vma.getProt();
                String ps = ((prot & 1) != 0 ? "r" : "-") + ((prot & 2) != 0 ? "w" : "-") + ((prot & 4) != 0 ? "x" : "-");
                String range = String.format("%08x-%08x", vma.getStart(), vma.getEnd());
                out.print(String.format("\t%-36s%s%s\n", range, ps, fn));
            }
        }
    }

    private static int vid(Map<Long, Integer> vids, long id) {
        return vids.computeIfAbsent(id, k -> vids.size() + 1);
    }

    private void rss() {
        for (PstreeEntry p : tasks()) {
            long pid = Integer.toUnsignedLong(p.getPid());
            out.print(pid + "\n");
            if (!dir.exists(ImageType.MM, pid) || !dir.exists(ImageType.PAGEMAP, pid)) {
                continue;
            }
            List<VmaEntry> vmas = one(ImageType.MM, MmEntry.parser(), pid).getVmasList();
            List<PagemapEntry> pms = new ArrayList<>();
            try (ImageReader r = dir.open(ImageType.PAGEMAP, pid)) {
                r.readOne(PagemapHead.parser());
                PagemapEntry e;
                while ((e = r.read(PagemapEntry.parser())) != null) {
                    pms.add(e);
                }
            }
            int n = vmas.size();
            int vmi = 0;
            int pvmi = -1;
            for (PagemapEntry pm : pms) {
                long nr = pm.hasNrPages() ? pm.getNrPages() : Integer.toUnsignedLong(pm.getCompatNrPages());
                String pstr = String.format("\t%x / %-8d", pm.getVaddr(), nr);
                // crit indexes with Python semantics, where -1 is the last VMA.
                while (vmi < n && Long.compareUnsigned(at(vmas, vmi).getEnd(), pm.getVaddr()) <= 0) {
                    vmi++;
                }
                long pme = pm.getVaddr() + (nr << 12);
                StringBuilder vstr = new StringBuilder();
                while (vmi < n && Long.compareUnsigned(at(vmas, vmi).getStart(), pme) < 0) {
                    VmaEntry vma = at(vmas, vmi);
                    if (vmi == pvmi) {
                        vstr.append(" ~");
                    } else {
                        vstr.append(String.format(" %08x / %-8d", vma.getStart(), (vma.getEnd() - vma.getStart()) >>> 12));
                        if ((vma.getStatus() & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) != 0) {
                            vstr.append(' ').append(fileStr("REG", (int) vma.getShmid()));
                        }
                        pvmi = vmi;
                    }
                    vstr.append("\n\t").append(" ".repeat(23));
                    vmi++;
                }
                vmi--;
                out.print(String.format("%-24s%s\n", pstr, vstr));
            }
        }
    }

    private static VmaEntry at(List<VmaEntry> l, int i) {
        return l.get(i < 0 ? i + l.size() : i);
    }

    private String fileStr(String type, int id) {
        String key = type + "/" + id;
        String s = fileCache.get(key);
        if (s == null) {
            s = describe(type, id);
            fileCache.put(key, s);
        }
        return s;
    }

    private String describe(String type, int id) {
        long uid = Integer.toUnsignedLong(id);
        switch (type) {
            case "REG" -> {
                RegFileEntry rf = find(id, FileEntry::hasReg, FileEntry::getReg, ImageType.REG_FILES, RegFileEntry.parser(), RegFileEntry::getId);
                if (rf == null || rf.getNameBytes().isEmpty()) {
                    return "unknown path";
                }
                // crit prints the repr of names that are not UTF-8, as in its JSON.
                return rf.getNameBytes().isValidUtf8() ? rf.getName() : PyBytes.repr(rf.getNameBytes().toByteArray());
            }
            case "PIPE" -> {
                PipeEntry pe = find(id, FileEntry::hasPipe, FileEntry::getPipe, ImageType.PIPES, PipeEntry.parser(), PipeEntry::getId);
                return pe != null ? "pipe[" + Integer.toUnsignedLong(pe.getPipeId()) + "]" : "pipe[?]";
            }
            case "UNIXSK" -> {
                UnixSkEntry ux = find(id, FileEntry::hasUsk, FileEntry::getUsk, ImageType.UNIXSK, UnixSkEntry.parser(), UnixSkEntry::getId);
                if (ux == null) {
                    return "unix[?]";
                }
                String name = QuotedPrintable.encode(ux.getName().toByteArray());
                return "unix[" + Integer.toUnsignedLong(ux.getIno()) + " (" + Integer.toUnsignedLong(ux.getPeer()) + ")"
                        + (name.isEmpty() ? "" : " " + name) + "]";
            }
            default -> {
                return type + "." + uid;
            }
        }
    }

    /**
     * A file description by id: from files.img when it has that id (crit's order), else from
     * the legacy per-kind image when files.img lacks it.
     */
    private <T> T find(int id, java.util.function.Predicate<FileEntry> has, java.util.function.Function<FileEntry, T> get,
            ImageType legacyType, com.google.protobuf.Parser<T> parser, java.util.function.ToIntFunction<T> idOf) {
        if (files == null) {
            files = dir.exists(ImageType.FILES) ? all(ImageType.FILES, FileEntry.parser()) : List.of();
        }
        for (FileEntry f : files) {
            if (f.getId() == id) {
                return has.test(f) ? get.apply(f) : null;
            }
        }
        @SuppressWarnings("unchecked")
        List<T> l = (List<T>) legacy.computeIfAbsent(legacyType.name(),
                k -> Files.exists(dir.path(legacyType)) ? all(legacyType, parser) : List.of());
        for (T e : l) {
            if (idOf.applyAsInt(e) == id) {
                return e;
            }
        }
        return null;
    }
}

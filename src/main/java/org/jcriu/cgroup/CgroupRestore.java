package org.jcriu.cgroup;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.CgControllerEntry;
import org.jcriu.image.proto.CgMemberEntry;
import org.jcriu.image.proto.CgSetEntry;
import org.jcriu.image.proto.CgroupDirEntry;
import org.jcriu.image.proto.CgroupEntry;
import org.jcriu.image.proto.CgroupPropEntry;
import org.jcriu.image.proto.InventoryEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.sys.Errno;
import org.jcriu.sys.Linux;

/**
 * The restore side of cgroup.img, in CRIU's order: {@link #prepare} before any task exists
 * (cgroup directories checked or created as --manage-cgroups says, with their permissions and
 * the properties that must be set while a cgroup is still empty); {@link #place} each task as
 * soon as it exists, before it runs or makes children, so it is charged where it was; {@link
 * #properties} once every task is in place; {@link #restoreFreezer} just before the tasks
 * resume. --cgroup-root moves a controller's dumped tree under another directory.
 *
 * <p>Unlike CRIU, a restore that fails removes the cgroups it created ({@link #abort}, after
 * its tasks are gone).
 */
public final class CgroupRestore {
    private static final Logger LOG = Log.get("cg");
    /**
     * Properties that can only be set while the cgroup has no task or child: written as soon as
     * jcriu creates the directory (CRIU's special_props).
     */
    private static final List<String> SPECIAL = List.of("cpuset.cpus", "cpuset.mems", "devices.list",
            "memory.kmem.limit_in_bytes", "memory.swappiness", "memory.oom_control", "memory.use_hierarchy", "cgroup.type");

    private final CgMode mode;
    private final int rootCgSet;
    private final CgroupEntry image;
    private final String yard;
    private final Map<Integer, CgSetEntry> sets = new HashMap<>();
    private final List<CgControllerEntry> controllers = new ArrayList<>();
    /** Directories whose properties are still to be written, with the hierarchy they belong to. */
    private final List<Pending> pending = new ArrayList<>();
    /** Directories jcriu made, parents first. */
    private final List<Path> created = new ArrayList<>();
    private Hierarchies hier;
    /** --manage-cgroups given: a hierarchy of the image that is not mounted here fails the restore. */
    private boolean explicit;
    /** Hierarchies of the image mounted nowhere here, left out (default mode only). */
    private final java.util.Set<String> absent = new java.util.HashSet<>();
    private Path freezerDir;
    private CgroupPropEntry freezerState;

    private record Pending(Path dir, List<CgroupPropEntry> props) {}

    private CgroupRestore(CgMode mode, int rootCgSet, CgroupEntry image, String yard) {
        this.mode = mode;
        this.rootCgSet = rootCgSet;
        this.image = image;
        this.yard = yard;
    }

    /** Reads cgroup.img (none is fine: every task stays in the restorer's cgroups) and applies --cgroup-root. */
    public static CgroupRestore load(ImageDir dir, Options opts) {
        CgMode mode = opts.unprivileged ? CgMode.IGNORE : CgMode.of(opts);
        int root = 0;
        try (ImageReader r = dir.openOptional(ImageType.INVENTORY)) {
            if (r != null) {
                InventoryEntry inv = r.readOne(InventoryEntry.parser());
                if (inv.hasRootCgSet()) {
                    if (inv.getRootCgSet() == 0) throw new CriuException("Corrupted root cgset in " + dir.path(ImageType.INVENTORY));
                    root = inv.getRootCgSet();
                }
            }
        }
        CgroupEntry img = null;
        try (ImageReader r = dir.openOptional(ImageType.CGROUP)) {
            if (r != null) img = r.read(CgroupEntry.parser());
        }
        CgroupRestore c = new CgroupRestore(mode, root, img == null ? CgroupEntry.getDefaultInstance() : img, opts.cgroupYard);
        c.explicit = opts.manageCgroupsSet;
        c.index(opts.cgroupRoot);
        return c;
    }

    private void index(List<String> cgroupRoot) {
        CgroupEntry.Builder b = image.toBuilder();
        rewriteRoots(b, cgroupRoot);
        for (CgSetEntry s : b.getSetsList()) sets.put(s.getId(), s);
        controllers.addAll(b.getControllersList());
    }

    /** Whether there is anything to do at all. */
    public boolean active() {
        return mode != CgMode.IGNORE && !sets.isEmpty();
    }

    /** The set inventory's root_cg_set names: the dumper's own, which restored tasks inherit from the restorer. */
    public int rootCgSet() {
        return rootCgSet;
    }

    /**
     * --cgroup-root [controller:]/newroot: the dumped top directories of each matching controller
     * become newroot, and the sets' paths below them follow (CRIU's rewrite_cgroup_roots).
     */
    private static void rewriteRoots(CgroupEntry.Builder cge, List<String> opts) {
        String global = null;
        List<String[]> per = new ArrayList<>();
        for (String o : opts) {
            int c = o.indexOf(':');
            if (c < 0) global = o;
            else per.add(new String[] {o.substring(0, c), o.substring(c + 1)});
        }
        for (int i = 0; i < cge.getControllersCount(); i++) {
            CgControllerEntry.Builder ctrl = cge.getControllers(i).toBuilder();
            String newroot = null;
            for (String[] o : per) {
                boolean hit = false;
                for (String cn : ctrl.getCnamesList()) {
                    if (List.of(o[0].split(",")).contains(cn)) hit = true;
                }
                if (!hit) continue;
                if (newroot != null && !newroot.equals(o[1])) throw new CriuException("CG paths mismatch: " + newroot + " " + o[1]);
                newroot = o[1];
            }
            if (newroot == null) newroot = global;
            if (newroot == null) continue;
            for (int j = 0; j < ctrl.getDirsCount(); j++) {
                CgroupDirEntry.Builder d = ctrl.getDirs(j).toBuilder();
                String old = d.getDirName();
                LOG.info("rewriting %s to %s", old, newroot);
                for (int s = 0; s < cge.getSetsCount(); s++) {
                    CgSetEntry.Builder set = cge.getSets(s).toBuilder();
                    for (int m = 0; m < set.getCtlsCount(); m++) {
                        CgMemberEntry mem = set.getCtls(m);
                        if (!CgMember.contains(ctrl.getCnamesList(), mem.getName())) continue;
                        String rel = mem.getPath().substring(1);
                        if (!(rel.equals(old) || old.isEmpty() || rel.startsWith(old + "/"))) continue;
                        String rest = old.isEmpty() ? (rel.isEmpty() ? "" : "/" + rel) : rel.substring(old.length());
                        set.setCtls(m, mem.toBuilder().setPath(newroot + rest).clearCgnsPrefix());
                    }
                    cge.setSets(s, set);
                }
                d.setDirName(newroot.startsWith("/") ? newroot.substring(1) : newroot);
                ctrl.setDirs(j, d);
            }
            cge.setControllers(i, ctrl);
        }
    }

    private CgControllerEntry controllerOf(CgMemberEntry m) {
        for (CgControllerEntry c : controllers) {
            if (CgMember.contains(c.getCnamesList(), m.getName())) return c;
        }
        throw new CriuException("No cg_controller_entry found for " + m.getName() + "/" + m.getPath() + " in cgroup.img");
    }

    private static String hierName(CgControllerEntry c) {
        return String.join(",", c.getCnamesList());
    }

    /** Checks or creates every dumped cgroup directory, before any task exists (prepare_cgroup_sfd). */
    public void prepare() {
        if (!active()) return;
        LOG.info("Preparing cgroups (mode %s)", mode.name().toLowerCase());
        hier = Hierarchies.of(yard);
        for (CgControllerEntry c : controllers) {
            if (c.getCnamesCount() < 1) throw new CriuException("Each cg_controller_entry must have at least 1 controller");
            if (!explicit && !c.getDirsList().isEmpty()) {
                try {
                    hier.dir(hierName(c), "/" + c.getDirs(0).getDirName());
                } catch (CriuException e) {
                    // CRIU would mount it; jcriu restores without it unless --manage-cgroups asked
                    LOG.warn("%s: its cgroups are not restored", e.getMessage());
                    absent.add(hierName(c));
                    continue;
                }
            }
            for (CgroupDirEntry d : c.getDirsList()) prepareDir(c, "", d);
        }
    }

    private void prepareDir(CgControllerEntry c, String parent, CgroupDirEntry e) {
        String path = parent + "/" + e.getDirName();
        Path dir = hier.dir(hierName(c), path);
        List<CgroupPropEntry> props = new ArrayList<>(e.getPropertiesList());
        if (!CgFs.exists(dir)) {
            if (!mode.createsMissing()) throw new CriuException("Cgroup dir " + dir + " doesn't exist (--manage-cgroups=" + modeName() + ")");
            mkdirs(dir);
            LOG.info("Created cgroup dir %s", dir);
            if (e.hasDirPerms()) CgFs.chperm(dir, e.getDirPerms(), true);
            for (CgroupPropEntry p : e.getPropertiesList()) {
                if (SPECIAL.contains(p.getName())) special(dir, p);
            }
        } else {
            LOG.info("Determined cgroup dir %s already exist", dir);
            if (mode == CgMode.STRICT) throw new CriuException("Abort restore of existing cgroup " + dir + " (--manage-cgroups=strict)");
            if (!mode.keepsPropsOfExisting()) {
                LOG.info("Skip restoring properties on cgroup dir %s", dir);
                props.clear();
            }
            if (mode != CgMode.NONE && e.hasDirPerms()) CgFs.chperm(dir, e.getDirPerms(), true);
        }
        // the root of a hierarchy ("" as a top directory) keeps its properties
        if (!e.getDirName().isEmpty() && !props.isEmpty()) pending.add(new Pending(dir, props));
        for (CgroupDirEntry ch : e.getChildrenList()) prepareDir(c, path.equals("/") ? "" : path, ch);
    }

    private String modeName() {
        return mode.name().toLowerCase();
    }

    private void mkdirs(Path dir) {
        List<Path> missing = new ArrayList<>();
        for (Path p = dir; p != null && !CgFs.exists(p); p = p.getParent()) missing.add(0, p);
        for (Path p : missing) {
            try {
                java.nio.file.Files.createDirectory(p);
            } catch (java.io.IOException ex) {
                throw new CriuException("Can't make cgroup dir " + p + ": " + ex.getMessage(), ex);
            }
            created.add(p);
        }
    }

    /** CRIU's restore_special_property: skipped defaults, devices.list rebuilt by deny-all then allow lines. */
    private void special(Path dir, CgroupPropEntry p) {
        if (p.getName().equals("memory.swappiness") && p.getValue().equals("60")) return;
        if (p.getName().equals("memory.oom_control") && p.getValue().equals("0")) return;
        if (p.getName().equals("devices.list")) {
            // write-only for the owner by default; the engine may have changed that
            var perms = p.getPerms().toBuilder().setMode(0200).build();
            Path deny = dir.resolve("devices.deny");
            CgFs.chperm(deny, perms, false);
            CgFs.write(deny, "a");
            if (p.getValue().isEmpty()) return;
            Path allow = dir.resolve("devices.allow");
            CgFs.chperm(allow, perms, false);
            // the kernel parses one rule per write
            for (String line : p.getValue().split("\n")) CgFs.write(allow, line);
            return;
        }
        writeProp(dir, p);
    }

    private void writeProp(Path dir, CgroupPropEntry p) {
        Path f = dir.resolve(p.getName());
        LOG.info("Restoring cgroup property value [%s] to [%s]", p.getValue(), f);
        if (p.hasPerms()) CgFs.chperm(f, p.getPerms(), false);
        switch (p.getName()) {
            case "cgroup.procs", "tasks" -> { } // their permissions only
            case "cgroup.subtree_control" -> subtreeControl(f, p.getValue());
            case "cgroup.type" -> {
                if (p.getValue().equals("threaded")) CgFs.write(f, p.getValue());
            }
            case "net_prio.ifpriomap" -> {
                // one interface per write; 0 is the default priority of a new cgroup
                for (String line : p.getValue().split("\n")) {
                    String[] kv = line.split(" ");
                    if (kv.length == 2 && !kv[1].strip().equals("0")) {
                        try {
                            CgFs.write(f, line);
                        } catch (CriuException e) {
                            LOG.warn("%s", e.getMessage()); // interfaces differ between hosts
                        }
                    }
                }
            }
            default -> {
                try {
                    CgFs.write(f, p.getValue());
                } catch (CriuException e) {
                    // deprecated by the kernel (58056f77502f3): CRIU lets it pass too
                    if (e.errno() == Errno.EOPNOTSUPP && p.getName().equals("memory.kmem.limit_in_bytes")) return;
                    throw e;
                }
            }
        }
    }

    /** Whatever is enabled goes, then the dumped controllers are enabled. */
    private static void subtreeControl(Path f, String value) {
        String cur = CgFs.read(f).strip();
        StringBuilder b = new StringBuilder();
        if (!cur.isEmpty()) for (String c : cur.split(" ")) b.append('-').append(c).append(' ');
        if (!value.isEmpty()) for (String c : value.split(" ")) b.append('+').append(c).append(' ');
        if (b.isEmpty()) return;
        CgFs.write(f, b.substring(0, b.length() - 1), Linux.O_RDWR);
    }

    /**
     * Moves task {@code pid} (all its threads) into the cgroups of set {@code cgSet}, unless it is
     * already there by inheritance: {@code inherited} is the set of the nearest restored ancestor
     * that has one, 0 for the root task (which inherits the restorer's, the dumper's set).
     * Call it as soon as the task exists, before it creates children or runs.
     */
    public void place(int pid, int cgSet, int inherited) {
        if (mode == CgMode.IGNORE || cgSet == 0) return;
        int current = inherited != 0 ? inherited : rootCgSet;
        if (cgSet == current) {
            LOG.info("Cgroups %d of %d inherited from parent", cgSet, pid);
            return;
        }
        CgSetEntry se = sets.get(cgSet);
        if (se == null) throw new CriuException("No cgroup set " + cgSet + " of task " + pid + " in cgroup.img");
        if (hier == null) hier = Hierarchies.of(yard);
        LOG.info("Move %d into set %d", pid, cgSet);
        // a hierarchy where the task already is needs no write: a move takes the kernel's
        // cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period (tens of ms)
        List<String> now = List.of(org.jcriu.sys.Sys.readString("/proc/" + pid + "/cgroup").split("\n"));
        for (CgMemberEntry m : se.getCtlsList()) {
            CgControllerEntry c = controllerOf(m);
            if (absent.contains(hierName(c))) continue;
            if (now.stream().anyMatch(l -> l.endsWith(":" + m.getName() + ":" + m.getPath()))) {
                LOG.debug("  `-> %s:%s already", m.getName(), m.getPath());
                continue;
            }
            Path procs = hier.dir(hierName(c), m.getPath()).resolve("cgroup.procs");
            LOG.debug("  `-> %s", procs);
            try {
                CgFs.write(procs, Integer.toString(pid));
            } catch (CriuException e) {
                throw new CriuException(e.errno(), "Can't move task " + pid + " into cgroup " + m.getName() + ":" + m.getPath()
                        + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * A thread whose set differs from its task's: only threaded hierarchies (v1, v2 "threaded")
     * can hold it elsewhere; it is moved there through tasks / cgroup.threads (CRIU's cgroupd).
     */
    public void placeThread(int tid, int cgSet, int taskCgSet) {
        if (mode == CgMode.IGNORE || cgSet == 0 || cgSet == taskCgSet) return;
        CgSetEntry se = sets.get(cgSet);
        if (se == null) throw new CriuException("No cgroup set " + cgSet + " of thread " + tid + " in cgroup.img");
        if (hier == null) hier = Hierarchies.of(yard);
        for (CgMemberEntry m : se.getCtlsList()) {
            CgControllerEntry c = controllerOf(m);
            if (!c.getIsThreaded()) continue;
            String file = c.getCnames(0).isEmpty() ? "cgroup.threads" : "tasks";
            CgFs.write(hier.dir(hierName(c), m.getPath()).resolve(file), Integer.toString(tid));
        }
    }

    /** The properties left once every task is in place (prepare_cgroup_properties); the freezer state waits. */
    public void properties() {
        if (!active()) return;
        for (Pending p : pending) {
            for (CgroupPropEntry prop : p.props()) {
                if (prop.getName().equals("freezer.state")) {
                    freezerDir = p.dir();
                    freezerState = prop;
                    continue;
                }
                if (SPECIAL.contains(prop.getName())) continue;
                writeProp(p.dir(), prop);
            }
        }
        pending.clear();
    }

    /** A freezer cgroup that was frozen at dump is frozen again, right before the tasks resume. */
    public void restoreFreezer() {
        if (freezerState == null) return;
        writeProp(freezerDir, freezerState);
    }

    /** Cgroups this restore created, deepest first; for a failed restore, once its tasks are dead and reaped. */
    public void abort() {
        for (int i = created.size() - 1; i >= 0; i--) {
            Path p = created.get(i);
            // a killed task leaves its cgroup only once it is reaped: give that a moment
            for (int attempt = 0; ; attempt++) {
                try {
                    java.nio.file.Files.delete(p); // rmdir(2): a cgroup's files are not in the way
                    LOG.info("Removed cgroup dir %s", p);
                    break;
                } catch (java.nio.file.NoSuchFileException e) {
                    break;
                } catch (java.io.IOException e) {
                    boolean busy = e instanceof java.nio.file.FileSystemException f && f.getReason() != null
                            && f.getReason().contains("busy");
                    if (!busy || attempt == 100) {
                        LOG.error("Can't remove cgroup %s created by this restore: %s", p, e.getMessage());
                        break;
                    }
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
            }
        }
        created.clear();
    }

    /** Directories created so far (tests). */
    List<Path> created() {
        return List.copyOf(created);
    }
}

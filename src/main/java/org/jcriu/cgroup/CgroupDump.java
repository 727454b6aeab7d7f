package org.jcriu.cgroup;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.CgControllerEntry;
import org.jcriu.image.proto.CgMemberEntry;
import org.jcriu.image.proto.CgSetEntry;
import org.jcriu.image.proto.CgroupDirEntry;
import org.jcriu.image.proto.CgroupEntry;
import org.jcriu.image.proto.CgroupPerms;
import org.jcriu.image.proto.CgroupPropEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * The dump side of cgroup.img, as CRIU's cgroup.c writes it. Every thread's /proc cgroup lines
 * form a set; identical sets share an id, and core's cg_set names it. jcriu's own set is set 1
 * (inventory root_cg_set): tasks in it are restored wherever the restorer runs, and when every
 * dumped thread is in it no cgroup.img is written. For each other set, unless
 * --manage-cgroups=ignore, the cgroup directories of every hierarchy are walked from the task's
 * cgroup (or --cgroup-root) down, with their permissions and the properties {@link CgProps}
 * names.
 *
 * <p>Usage: {@link #start} once before the tasks are touched, {@link #set} for every thread
 * (thread-safe), {@link #write} once with the other images.
 */
public final class CgroupDump {
    private static final Logger LOG = Log.get("cg");
    /** CRIU reads at most this much of a property. */
    private static final int PROP_MAX = 1023;

    private final boolean enabled;
    private final CgMode mode;
    private final CgProps props;
    private final List<String> onlyControllers;
    private final String globalRoot;
    private final Map<String, String> roots;
    private final String yard;
    private final List<Controller> controllers = new ArrayList<>();
    private final List<Set> sets = new ArrayList<>();
    private final boolean freezeCgroup;
    /** --manage-cgroups given: a hierarchy that cannot be walked fails the dump instead of being skipped. */
    private final boolean explicit;
    private String freezerState = "THAWED";
    private Hierarchies hier;
    private Dir freezerHead;
    private int nextId = 1;

    private static final class Set {
        final int id;
        final List<CgMember> ctls;
        /** Named by some dumped thread's core (a prefetched set may end up unused). */
        boolean used;

        Set(int id, List<CgMember> ctls) {
            this.id = id;
            this.ctls = ctls;
        }

        int id() {
            return id;
        }

        List<CgMember> ctls() {
            return ctls;
        }
    }

    private static final class Controller {
        final List<String> cnames;
        final List<Dir> heads = new ArrayList<>();
        boolean threaded;

        Controller(List<String> cnames) {
            this.cnames = cnames;
        }
    }

    private static final class Dir {
        final String path;
        final Stat st;
        final List<Dir> children = new ArrayList<>();
        final List<CgroupPropEntry> props = new ArrayList<>();

        Dir(String path, Stat st) {
            this.path = path;
            this.st = st;
        }
    }

    private CgroupDump(Options opts) {
        this.enabled = !opts.unprivileged;
        this.mode = CgMode.of(opts);
        this.props = CgProps.of(opts.cgroupProps, opts.cgroupPropsFile);
        this.onlyControllers = List.copyOf(opts.cgroupDumpController);
        this.yard = opts.cgroupYard;
        this.freezeCgroup = opts.freezeCgroup != null;
        this.explicit = opts.manageCgroupsSet;
        String global = null;
        Map<String, String> r = new java.util.LinkedHashMap<>();
        for (String o : opts.cgroupRoot) {
            int c = o.indexOf(':');
            if (c < 0) global = o;
            else r.put(o.substring(0, c), o.substring(c + 1));
        }
        this.globalRoot = global;
        this.roots = r;
    }

    /**
     * Reads jcriu's own cgroups (set 1) and the hierarchies there are; parses --cgroup-props.
     * Throws for a bad property spec before any task is touched.
     */
    public static CgroupDump start(Options opts) {
        CgroupDump d = new CgroupDump(opts);
        if (!d.enabled) return d;
        String self = Sys.readString("/proc/self/cgroup");
        d.collectControllers(self);
        Set own = new Set(d.nextId++, CgMember.parse(self, "/proc/self/cgroup", d::skipController));
        d.sets.add(own);
        LOG.info("Set %d is criu one", own.id());
        return d;
    }

    private boolean skipController(String name) {
        return !onlyControllers.isEmpty() && !onlyControllers.contains(name);
    }

    /** A hierarchy per line of our own /proc/self/cgroup, named ones (name=systemd) left out (collect_controllers). */
    private void collectControllers(String self) {
        for (String line : self.split("\n")) {
            if (line.isEmpty()) continue;
            int a = line.indexOf(':');
            int b = a < 0 ? -1 : line.indexOf(':', a + 1);
            if (b < 0) throw new CriuException("Unable to parse \"" + line + "\" of /proc/self/cgroup");
            String names = line.substring(a + 1, b);
            if (skipController(names)) continue;
            List<String> cn = new ArrayList<>();
            for (String n : names.split(",", -1)) {
                if (!n.startsWith("name=")) cn.add(n);
            }
            if (!cn.isEmpty()) controllers.add(new Controller(List.copyOf(cn)));
        }
    }

    /**
     * The cg_set id of thread {@code tid} of task {@code pid} (pid itself for the main thread): an
     * existing set when its cgroups are the same, else a new one whose cgroups are collected now.
     */
    public synchronized int set(int pid, int tid) {
        if (!enabled) return 0;
        Set s = lookup(pid, tid);
        s.used = true;
        return s.id();
    }

    /**
     * Collects the cgroups of task {@code pid} before it is frozen: walking cgroup directories
     * needs no stopped task, and this keeps the walk out of the frozen time. {@link #set} while
     * frozen finds the same set, or makes a new one if the task moved meanwhile.
     */
    public synchronized void prefetch(int pid) {
        if (enabled) lookup(pid, pid);
    }

    private Set lookup(int pid, int tid) {
        String file = "/proc/" + pid + "/task/" + tid + "/cgroup";
        String text;
        try {
            text = Sys.readString(file);
        } catch (CriuException e) {
            throw new CriuException(e.errno(), "Can't read cgroups of thread " + tid + " of task " + pid + ": " + e.getMessage(), e);
        }
        List<CgMember> ctls = CgMember.parse(text, file, this::skipController);
        for (Set s : sets) {
            if (s.ctls().equals(ctls)) {
                LOG.debug(" `- Existing css %d found for %d", s.id(), tid);
                return s;
            }
        }
        Set s = new Set(nextId++, ctls);
        LOG.debug(" `- New css ID %d for %d", s.id(), tid);
        for (CgMember m : ctls) LOG.debug("    `- [%s] -> [%s]", m.name(), m.path());
        collect(ctls);
        sets.add(s);
        return s;
    }

    /** The freezer.state recorded for the freezer hierarchy with --freeze-cgroup: the cgroup's state before the dump. */
    public synchronized void freezerState(String state) {
        this.freezerState = state;
    }

    private void collect(List<CgMember> ctls) {
        for (CgMember cc : ctls) {
            Controller cur = null;
            for (Controller c : controllers) {
                if (CgMember.contains(c.cnames, cc.name())) {
                    cur = c;
                    break;
                }
            }
            if (cur == null) {
                // only named hierarchies may appear this way
                if (!cc.name().startsWith("name=")) throw new CriuException("cgroup controller " + cc.name() + " not found");
                cur = new Controller(List.of(cc.name()));
                controllers.add(cur);
            }
            if (mode == CgMode.IGNORE) continue;
            String root = cc.path();
            if (globalRoot != null) root = globalRoot;
            if (roots.containsKey(cc.name())) root = roots.get(cc.name());
            if (hier == null) hier = Hierarchies.of(yard);
            Path top;
            try {
                top = hier.dir(cc.name(), root);
            } catch (CriuException e) {
                // CRIU mounts what it needs; jcriu uses what is mounted. Without an explicit
                // --manage-cgroups (soft is only the default) such a hierarchy is left out.
                if (explicit) throw e;
                LOG.warn("%s: its directories are not dumped", e.getMessage());
                continue;
            }
            if (!Files.isDirectory(top)) {
                throw new CriuException("failed walking " + top + " for empty cgroups: no such cgroup (" + cc.name() + ":" + root + ")");
            }
            walk(cur, top, root.isEmpty() ? "/" : root);
            // its freezer.state is added at write time: the walk may run before the freeze
            if (freezeCgroup && cc.name().equals("freezer") && !cur.heads.isEmpty()) freezerHead = cur.heads.get(0);
        }
    }

    /** Pre-order walk, as ftw(3): a directory before its contents; entries by name. */
    private void walk(Controller c, Path dir, String path) {
        add(c, dir, path);
        TreeSet<String> names = new TreeSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) names.add(p.getFileName().toString());
            }
        } catch (IOException e) {
            throw new CriuException("failed walking " + dir + " for empty cgroups: " + e.getMessage(), e);
        }
        for (String n : names) walk(c, dir.resolve(n), path.equals("/") ? "/" + n : path + "/" + n);
    }

    private static boolean isSubpath(String path, String sub) {
        return path.startsWith(sub) && (path.length() == sub.length() || path.charAt(sub.length()) == '/');
    }

    /** find_dir: the deepest dumped directory {@code path} lies under; the exact one when dumped already. */
    private record Match(Dir dir, boolean exact) {}

    private static Match find(String path, List<Dir> dirs) {
        for (Dir d : dirs) {
            if (d.path.equals(path)) return new Match(d, true);
            if (isSubpath(path, d.path)) {
                Match m = find(path, d.children);
                return m == null ? new Match(d, false) : m;
            }
        }
        return null;
    }

    private void add(Controller c, Path dir, String path) {
        Match m = find(path, c.heads);
        if (m != null && m.exact()) return; // co-mounted or already dumped
        LOG.info("adding cgroup %s", dir);
        Dir d = new Dir(path, CgFs.stat(dir));
        for (String cname : c.cnames) readProps(c, d, dir, props.get(cname));
        readProps(c, d, dir, c.cnames.get(0).isEmpty() ? CgProps.GLOBAL_V2 : CgProps.GLOBAL_V1);
        if (m == null) c.heads.add(d);
        else m.dir().children.add(d);
    }

    private void readProps(Controller c, Dir d, Path dir, List<String> names) {
        for (String name : names) {
            Path f = dir.resolve(name);
            if (!CgFs.exists(f)) {
                LOG.info("Couldn't open %s. This cgroup property may not exist on this kernel", f);
                continue;
            }
            Stat st = CgFs.stat(f);
            String value;
            if (name.equals("cgroup.procs") || name.equals("tasks")) {
                value = ""; // only their permissions are restored
            } else {
                value = CgFs.read(f);
                if (value.length() > PROP_MAX) value = value.substring(0, PROP_MAX);
                if (value.endsWith("\n")) value = value.substring(0, value.length() - 1);
                if (strtollIsMax(value)) value = "-1";
            }
            if (name.equals("memory.oom_control")) value = oomKillDisable(value, f);
            if ((name.equals("cgroup.type") && value.equals("threaded")) || name.equals("tasks")) c.threaded = true;
            LOG.info("Dumping value %s from %s", value, f);
            d.props.add(CgroupPropEntry.newBuilder().setName(name).setValue(value).setPerms(perms(st)).build());
        }
    }

    /** memory.oom_control reads as "oom_kill_disable N\n..." and is written back as N. */
    private static String oomKillDisable(String value, Path f) {
        String first = value.split("\n", 2)[0];
        if (!first.startsWith("oom_kill_disable ")) throw new CriuException("couldn't scan oom state from " + f + ": " + first);
        return first.substring("oom_kill_disable ".length()).strip();
    }

    /** CRIU turns a value strtoll reads as LLONG_MAX (saturated or exact) into "-1". */
    static boolean strtollIsMax(String v) {
        int i = 0;
        while (i < v.length() && Character.isWhitespace(v.charAt(i))) i++;
        if (i < v.length() && v.charAt(i) == '+') i++;
        else if (i < v.length() && v.charAt(i) == '-') return false;
        int start = i;
        while (i < v.length() && v.charAt(i) >= '0' && v.charAt(i) <= '9') i++;
        if (i == start) return false;
        String digits = v.substring(start, i).replaceFirst("^0+(?=.)", "");
        if (digits.length() != 19) return digits.length() > 19;
        return digits.compareTo(Long.toString(Long.MAX_VALUE)) >= 0;
    }

    private static CgroupPerms perms(Stat st) {
        return CgroupPerms.newBuilder().setMode(st.mode()).setUid(st.uid()).setGid(st.gid()).build();
    }

    /** True when cgroup.img is needed: some dumped thread lives outside jcriu's own cgroups. */
    public synchronized boolean needed() {
        return enabled && sets.stream().skip(1).anyMatch(s -> s.used);
    }

    /** Writes cgroup.img, or nothing when every task shares jcriu's cgroups (CRIU writes no entry then). */
    public synchronized void write(ImageDir dir) {
        if (!needed()) {
            LOG.info("All tasks in criu's cgroups. Nothing to dump.");
            return;
        }
        CgroupEntry.Builder cg = CgroupEntry.newBuilder();
        List<Set> dumped = sets.subList(1, sets.size()).stream().filter(s -> s.used).toList();
        LOG.info("Dumping %d sets", dumped.size());
        for (Set s : dumped) {
            CgSetEntry.Builder se = CgSetEntry.newBuilder().setId(s.id());
            for (CgMember m : s.ctls()) {
                LOG.info("   `- Dumping %s of %s", m.name(), m.path());
                se.addCtls(CgMemberEntry.newBuilder().setName(m.name()).setPath(m.path()));
            }
            cg.addSets(se);
        }
        if (freezerHead != null) {
            freezerHead.props.removeIf(p -> p.getName().equals("freezer.state"));
            freezerHead.props.add(CgroupPropEntry.newBuilder().setName("freezer.state").setValue(freezerState).build());
        }
        for (Controller c : controllers) {
            CgControllerEntry.Builder ce = CgControllerEntry.newBuilder().addAllCnames(c.cnames).setIsThreaded(c.threaded);
            for (Dir d : c.heads) ce.addDirs(dirEntry(d, 0));
            cg.addControllers(ce);
        }
        LOG.info("Writing CG image");
        try (ImageWriter w = dir.create(ImageType.CGROUP)) {
            w.write(cg.build());
        }
    }

    /** A head's name is its whole path without the leading '/' ("" for the root); a child's is its own name. */
    private static CgroupDirEntry dirEntry(Dir d, int parentLen) {
        String name = parentLen == 0 ? d.path.substring(1) : d.path.substring(parentLen == 1 ? 1 : parentLen + 1);
        CgroupDirEntry.Builder b = CgroupDirEntry.newBuilder().setDirName(name).setDirPerms(perms(d.st)).addAllProperties(d.props);
        for (Dir c : d.children) b.addChildren(dirEntry(c, d.path.length()));
        return b.build();
    }
}

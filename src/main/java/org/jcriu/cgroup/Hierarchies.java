package org.jcriu.cgroup;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.sys.Sys;

/**
 * Where each cgroup hierarchy can be reached. CRIU mounts a private copy of every hierarchy it
 * needs (or uses --cgroup-yard); jcriu uses the mounts it can already see in
 * /proc/self/mountinfo, and --cgroup-yard the same way CRIU does: one directory per hierarchy,
 * named after its controllers ("cpu,cpuacct"), a named hierarchy without its "name=" and cgroup
 * v2 as "unified".
 */
final class Hierarchies {
    private record Mount(Path point, String root, String fstype, List<String> superOpts) {}

    private final Path yard;
    private final List<Mount> mounts;
    private final Map<String, Path> cache = new HashMap<>();

    private Hierarchies(Path yard, List<Mount> mounts) {
        this.yard = yard;
        this.mounts = mounts;
    }

    static Hierarchies of(String yard) {
        if (yard != null) {
            Path y = Path.of(yard);
            if (!Files.isDirectory(y)) throw new CriuException("cgroup yard " + yard + " is not a directory");
            return new Hierarchies(y, List.of());
        }
        return new Hierarchies(null, parseMountinfo(Sys.readString("/proc/self/mountinfo")));
    }

    static List<Mount> parseMountinfo(String text) {
        List<Mount> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (dash < 0 || f.length < dash + 4 || f.length < 5) continue;
            String fstype = f[dash + 1];
            if (!fstype.equals("cgroup") && !fstype.equals("cgroup2")) continue;
            out.add(new Mount(Path.of(unescape(f[4])), unescape(f[3]), fstype, List.of(f[dash + 3].split(","))));
        }
        return out;
    }

    /** mountinfo escapes space, tab, newline and backslash as \ooo. */
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) return s;
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** The yard directory name CRIU gives hierarchy {@code name} (its ctrl_dir_and_opt). */
    static String yardName(String name) {
        if (name.isEmpty()) return "unified";
        StringBuilder b = new StringBuilder();
        for (String c : name.split(",")) {
            if (!b.isEmpty()) b.append(',');
            b.append(c.startsWith("name=") ? c.substring(5) : c);
        }
        return b.toString();
    }

    /**
     * The directory of cgroup {@code path} ("/a/b") in hierarchy {@code name} ("cpu,cpuacct",
     * "name=systemd", "" for v2).
     */
    Path dir(String name, String path) {
        String rel = path.startsWith("/") ? path.substring(1) : path;
        if (yard != null) {
            Path root = yard.resolve(yardName(name));
            return rel.isEmpty() ? root : root.resolve(rel);
        }
        Path root = cache.get(name);
        if (root != null) return rel.isEmpty() ? root : root.resolve(rel);
        Mount sub = null;
        for (Mount m : mounts) {
            if (!matches(m, name)) continue;
            if (m.root().equals("/")) {
                cache.put(name, m.point());
                return rel.isEmpty() ? m.point() : m.point().resolve(rel);
            }
            if (sub == null && (path.equals(m.root()) || path.startsWith(m.root() + "/"))) sub = m;
        }
        if (sub != null) {
            // only a sub-tree is mounted (a bind, or a cgroup namespace's view): paths below its root map under it
            String below = path.substring(sub.root().length());
            return below.isEmpty() || below.equals("/") ? sub.point() : sub.point().resolve(below.substring(1));
        }
        throw new CriuException("cgroup hierarchy " + (name.isEmpty() ? "v2 (unified)" : name)
                + " is not mounted here (no cgroup mount in /proc/self/mountinfo shows " + path
                + "): mount it or give --cgroup-yard");
    }

    private static boolean matches(Mount m, String name) {
        if (name.isEmpty()) return m.fstype().equals("cgroup2");
        if (!m.fstype().equals("cgroup")) return false;
        for (String c : name.split(",")) {
            if (!m.superOpts().contains(c)) return false;
        }
        return true;
    }
}

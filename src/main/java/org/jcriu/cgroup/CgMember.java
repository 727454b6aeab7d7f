package org.jcriu.cgroup;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import org.jcriu.CriuException;

/**
 * One line of /proc/PID/cgroup: the hierarchy's controllers ("cpu,cpuacct", "name=systemd", ""
 * for cgroup v2) and the task's path in it. A task's set is its lines sorted by name, the order
 * CRIU keeps them in (cg_set_compare walks two sets side by side).
 */
public record CgMember(String name, String path) {

    /** /proc/PID/task/TID/cgroup, minus controllers {@code skip} rejects, sorted by name. */
    static List<CgMember> parse(String text, String file, Predicate<String> skip) {
        List<CgMember> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) continue;
            int a = line.indexOf(':');
            int b = a < 0 ? -1 : line.indexOf(':', a + 1);
            if (b < 0) throw new CriuException("Failed parsing cgroup line \"" + line + "\" of " + file);
            String name = line.substring(a + 1, b);
            if (skip.test(name)) continue;
            CgMember m = new CgMember(name, line.substring(b + 1));
            // inserted before the first entry whose name is not smaller, as parse_cgroup_file
            int i = 0;
            while (i < out.size() && out.get(i).name().compareTo(name) < 0) i++;
            out.add(i, m);
        }
        return out;
    }

    /**
     * True when every controller of a hierarchy ({@code cnames}) appears as a whole word of a
     * comma-separated {@code name}; cgroup v2's single empty cname matches only "" (CRIU's
     * cgroup_contains).
     */
    static boolean contains(List<String> cnames, String name) {
        if (cnames.size() == 1 && cnames.get(0).isEmpty()) return name.isEmpty();
        if (cnames.isEmpty()) return false;
        List<String> words = List.of(name.split(",", -1));
        for (String c : cnames) {
            if (!words.contains(c)) return false;
        }
        return true;
    }
}

package org.jcriu.cgroup;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A temporary cgroup for one test, in the memory and pids hierarchies (and any other asked
 * for): a v1 hierarchy when one is mounted for the controller (as a child of the test's own
 * cgroup there, so limits above still apply), else cgroup v2 under /sys/fs/cgroup's v2 mount
 * when the controller is enabled at its root. Tests skip with the reason when neither exists.
 * {@link #close} removes every directory below the test cgroups' names, deepest first.
 */
public final class TestCgroup implements AutoCloseable {
    /** One controller's place: the hierarchy's mount, the test cgroup's path in it. */
    public record Ctl(String controller, Path mount, String path, boolean v2) {
        public Path dir() {
            return mount.resolve(path.substring(1));
        }

        /** The /proc/PID/cgroup name of this hierarchy: the controller (v1), "" (v2). */
        String hierName() {
            return v2 ? "" : controller;
        }
    }

    final String name;
    final Map<String, Ctl> ctls = new LinkedHashMap<>();
    private final List<Path> cleanup = new ArrayList<>();

    private TestCgroup(String name) {
        this.name = name;
    }

    private static final java.util.regex.Pattern STALE = java.util.regex.Pattern.compile("jcriu-[a-z0-9]+-(\\d+)(-moved)?");
    private static final java.util.Set<Path> SWEPT = new java.util.HashSet<>();

    /**
     * Empty test cgroups left by a test JVM that was killed before its cleanup ran (names end
     * with the JVM's pid, which is gone): removed once per JVM and directory, so they do not pile up.
     */
    private static synchronized void sweep(List<Path> parents) {
        for (Path parent : parents) {
            if (!SWEPT.add(parent)) continue;
            try (var s = Files.list(parent)) {
                for (Path d : s.toList()) {
                    var m = STALE.matcher(d.getFileName().toString());
                    if (!m.matches() || Files.exists(Path.of("/proc/" + m.group(1))) || !Files.isDirectory(d)) continue;
                    try {
                        if (Files.readString(d.resolve("cgroup.procs")).isBlank()) rmTree(d);
                    } catch (IOException e) {
                        // busy or gone meanwhile: not ours to insist on
                    }
                }
            } catch (IOException e) {
                // an unreadable hierarchy: nothing to sweep there
            }
        }
    }

    public static TestCgroup create(String name, String... controllers) throws IOException {
        TestCgroup t = new TestCgroup(name);
        List<String[]> mounts = new ArrayList<>();
        for (String l : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = l.split(" ");
            int dash = List.of(f).indexOf("-");
            if (dash > 0 && f[3].equals("/") && (f[dash + 1].equals("cgroup") || f[dash + 1].equals("cgroup2"))) {
                mounts.add(new String[] {f[4], f[dash + 1], f[dash + 3]});
            }
        }
        List<String> self = Files.readAllLines(Path.of("/proc/self/cgroup"));
        for (String c : controllers) {
            Ctl ctl = null;
            for (String[] m : mounts) {
                if (m[1].equals("cgroup") && List.of(m[2].split(",")).contains(c)) {
                    String own = "/";
                    for (String l : self) {
                        String[] f = l.split(":", 3);
                        if (List.of(f[1].split(",")).contains(c)) own = f[2];
                    }
                    ctl = new Ctl(c, Path.of(m[0]), (own.equals("/") ? "" : own) + "/" + name, false);
                }
            }
            if (ctl == null) {
                for (String[] m : mounts) {
                    if (!m[1].equals("cgroup2")) continue;
                    Path root = Path.of(m[0]);
                    String enabled = Files.readString(root.resolve("cgroup.subtree_control"));
                    if (c.equals("freezer") || List.of(enabled.strip().split(" ")).contains(c)) {
                        ctl = new Ctl(c, root, "/" + name, true);
                    }
                }
            }
            assumeTrue(ctl != null, "no cgroup v1 hierarchy nor cgroup v2 with the " + c + " controller enabled is mounted here");
            t.ctls.put(c, ctl);
        }
        sweep(t.ctls.values().stream().map(c -> c.dir().getParent()).toList());
        for (Ctl c : t.ctls.values()) {
            Files.createDirectories(c.dir());
            t.cleanup.add(c.dir());
        }
        return t;
    }

    /** A cgroup of the cgroup v2 hierarchy only (its freezer needs no controller), wherever v1 hierarchies exist too. */
    public static TestCgroup createV2(String name) throws IOException {
        TestCgroup t = new TestCgroup(name);
        for (String l : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = l.split(" ");
            int dash = List.of(f).indexOf("-");
            if (dash > 0 && f[3].equals("/") && f[dash + 1].equals("cgroup2")) {
                t.ctls.put("freezer", new Ctl("freezer", Path.of(f[4]), "/" + name, true));
                break;
            }
        }
        assumeTrue(!t.ctls.isEmpty(), "no cgroup v2 hierarchy is mounted here");
        sweep(List.of(t.ctl("freezer").dir().getParent()));
        Files.createDirectories(t.ctl("freezer").dir());
        t.cleanup.add(t.ctl("freezer").dir());
        return t;
    }

    public Ctl ctl(String controller) {
        return ctls.get(controller);
    }

    /** Also removed at close (with whatever is below it), e.g. a cgroup a restore made elsewhere. */
    public void alsoRemove(Path dir) {
        cleanup.add(dir);
    }

    public void add(int pid) throws IOException {
        for (Ctl c : ctls.values()) {
            if (!c.v2() || !Files.readString(c.dir().resolve("cgroup.procs")).contains(pid + "\n")) {
                Files.writeString(c.dir().resolve("cgroup.procs"), Integer.toString(pid));
            }
        }
    }

    public String memLimitFile() {
        return ctl("memory").v2() ? "memory.max" : "memory.limit_in_bytes";
    }

    public String read(String controller, String file) throws IOException {
        return Files.readString(ctl(controller).dir().resolve(file)).strip();
    }

    public void write(String controller, String file, String value) throws IOException {
        Files.writeString(ctl(controller).dir().resolve(file), value);
    }

    /** The test cgroup directories, removed (deepest first) as a dump's victim would find them gone. */
    public void removeDirs() throws IOException {
        for (Ctl c : ctls.values()) rmTree(c.dir());
    }

    /** The directories of this cgroup that exist, with the pids in each (for a failure's message). */
    public String existing() {
        StringBuilder b = new StringBuilder();
        for (Ctl c : ctls.values()) {
            if (!Files.exists(c.dir())) continue;
            String procs;
            try {
                procs = Files.readString(c.dir().resolve("cgroup.procs")).strip().replace('\n', ' ');
            } catch (IOException e) {
                procs = "?";
            }
            b.append(c.dir()).append(" (procs: ").append(procs).append(") ");
        }
        return b.toString();
    }

    public boolean anyExists() {
        return ctls.values().stream().anyMatch(c -> Files.exists(c.dir()));
    }

    /** The path of {@code pid} in this test's hierarchy of {@code controller}. */
    public String pathOf(int pid, String controller) throws IOException {
        Ctl c = ctl(controller);
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
            String[] f = l.split(":", 3);
            if (c.v2() ? f[1].isEmpty() : List.of(f[1].split(",")).contains(controller)) return f[2];
        }
        throw new IllegalStateException("no " + controller + " line in /proc/" + pid + "/cgroup");
    }

    private static void rmTree(Path d) throws IOException {
        if (!Files.isDirectory(d)) return;
        try (var s = Files.list(d)) {
            for (Path p : s.toList()) {
                if (Files.isDirectory(p)) rmTree(p);
            }
        }
        // a frozen task cannot die: thaw first
        try {
            if (Files.exists(d.resolve("freezer.state"))) Files.writeString(d.resolve("freezer.state"), "THAWED");
            else if (Files.exists(d.resolve("cgroup.freeze"))) Files.writeString(d.resolve("cgroup.freeze"), "0");
        } catch (IOException e) {
            // a freezer file that refuses is no reason not to try the rmdir
        }
        // tasks killed a moment ago leave the cgroup once reaped; whatever is still in a test
        // cgroup was put there by the test (the workload, its restored copy, a child of it)
        for (int i = 0; ; i++) {
            try {
                Files.deleteIfExists(d);
                return;
            } catch (IOException e) {
                if (i % 50 == 10) {
                    for (String pid : Files.readString(d.resolve("cgroup.procs")).split("\n")) {
                        if (!pid.isBlank()) org.jcriu.testing.ProcState.kill9(Integer.parseInt(pid.strip()));
                    }
                }
                if (i == 500) throw e;
                try {
                    Thread.sleep(20);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            try {
                rmTree(cleanup.get(i));
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }
}

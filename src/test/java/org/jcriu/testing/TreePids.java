package org.jcriu.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;

/**
 * The tasks of the tree.c workload as it lists them in DIR/pids: root R, children A and B,
 * grandchild G, zombie Z. Reading them also hands every pid to the workload's cleanup.
 */
public record TreePids(int r, int a, int b, int g, int z) {
    public List<Integer> live() {
        return List.of(r, a, b, g);
    }

    public List<Integer> all() {
        return List.of(r, a, b, g, z);
    }

    /**
     * After a dump that failed or let the tree go: every live task runs untraced and counts on,
     * and the root's verdict (covering every task) is PASS.
     */
    public void assertRunOn(Workload w) throws Exception {
        for (int pid : live()) ProcState.assertRunningUntraced(pid);
        assertCounting(w, "R", "A", "B", "G");
        assertPasses(w);
    }

    public static TreePids of(Workload w) throws IOException {
        String[] p = Files.readString(w.dir().resolve("pids")).trim().split(" ");
        TreePids ps = new TreePids(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]),
                Integer.parseInt(p[3]), Integer.parseInt(p[4]));
        for (int pid : ps.all()) w.alsoKill(pid);
        return ps;
    }

    /** Every live task named in {@code roles} counts on: its ROLE.log grows within 10 s. */
    public static void assertCounting(Workload w, String... roles) throws Exception {
        java.util.Map<String, Long> before = new java.util.LinkedHashMap<>();
        for (String r : roles) before.put(r, lines(w.dir().resolve(r + ".log")));
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        for (String r : roles) {
            while (lines(w.dir().resolve(r + ".log")) <= before.get(r)) {
                org.junit.jupiter.api.Assertions.assertTrue(System.nanoTime() < deadline, r + " stopped counting at " + before.get(r));
                Thread.sleep(10);
            }
        }
    }

    /**
     * SIGTERM to the root R, whose verdict covers every task (tree.c); the failure message adds
     * what A, B and G wrote to their own DIR/verdict-ROLE.
     */
    public static void assertPasses(Workload w) throws IOException {
        String v = w.terminateAndVerdict();
        StringBuilder all = new StringBuilder(v);
        for (String role : List.of("A", "B", "G")) {
            java.nio.file.Path f = w.dir().resolve("verdict-" + role);
            all.append("; ").append(role).append(": ").append(Files.exists(f) ? Files.readString(f).strip() : "none");
        }
        org.junit.jupiter.api.Assertions.assertEquals("PASS", v.split(" ")[0], all.toString());
    }

    /** Lines in {@code f} (a workload's log). */
    public static long lines(java.nio.file.Path f) throws IOException {
        try (var l = Files.lines(f)) {
            return l.count();
        }
    }
}

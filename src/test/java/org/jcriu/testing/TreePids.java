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

    public static TreePids of(Workload w) throws IOException {
        String[] p = Files.readString(w.dir().resolve("pids")).trim().split(" ");
        TreePids ps = new TreePids(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]),
                Integer.parseInt(p[3]), Integer.parseInt(p[4]));
        for (int pid : ps.all()) w.alsoKill(pid);
        return ps;
    }
}

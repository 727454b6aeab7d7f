package org.jcriu.restore;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The images of every task of a dump, in pstree.img's order: the root first, a parent always
 * before its children. Zombies are in it too ({@link TaskImages#zombie()}).
 */
public record TreeImages(List<TaskImages> tasks) {
    public TreeImages {
        tasks = List.copyOf(tasks);
    }

    public TaskImages root() {
        return tasks.get(0);
    }

    public TaskImages task(int pid) {
        for (TaskImages t : tasks) if (t.pid() == pid) return t;
        return null;
    }

    /** The children of {@code pid}, in pstree.img's order. */
    public List<TaskImages> children(int pid) {
        List<TaskImages> out = new ArrayList<>();
        for (TaskImages t : tasks) if (t != root() && t.pstree().getPpid() == pid) out.add(t);
        return out;
    }

    /** Tasks that run again (not zombies), in pstree.img's order. */
    public List<TaskImages> live() {
        return tasks.stream().filter(t -> !t.zombie()).toList();
    }

    /** Every PID and TID the restore will create, each with what it is (for messages). */
    public Map<Integer, String> ids() {
        Map<Integer, String> out = new LinkedHashMap<>();
        for (TaskImages t : tasks) {
            out.put(t.pid(), "task " + t.pid());
            for (int tid : t.threads().keySet()) out.put(tid, "thread " + tid + " of task " + t.pid());
        }
        return out;
    }

    /** Every dumped VMA of every task: the restorer's own pages must avoid all of them. */
    public List<Vma> allVmas() {
        List<Vma> out = new ArrayList<>();
        for (TaskImages t : tasks) out.addAll(t.vmas());
        return out;
    }
}

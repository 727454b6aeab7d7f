package org.jcriu.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;

/**
 * The AOT training run behind {@code bin/jcriu --build-aot}: exercises the command line the way
 * real invocations do (help, version, option parsing, errors, check) so the JDK 25 AOT cache
 * holds those classes already loaded and linked. Output goes nowhere useful; exit status 0.
 */
final class Train {
    private Train() {}

    /**
     * A real dump (-R) of a sleep of our own, so the cache also holds the dump path: image
     * classes, /proc parsers, the tracer. posix_spawn'ed (never ProcessBuilder, whose reaper
     * would steal ptrace stops), then killed and reaped.
     */
    private static void trainDump(CommandLine.Env env, String dir) {
        int devnull = org.jcriu.sys.Sys.open("/dev/null", org.jcriu.sys.Linux.O_RDWR, 0);
        int pid;
        try {
            pid = org.jcriu.sys.Sys.posixSpawn("/bin/sleep", java.util.List.of("sleep", "1000"), java.util.List.of(),
                    new int[] {devnull, devnull, devnull}, true);
        } finally {
            org.jcriu.sys.Sys.close(devnull);
        }
        try {
            Files.createDirectories(Path.of(dir, "dump"));
            Main.run(new String[] {"dump", "-t", Integer.toString(pid), "-D", dir + "/dump", "-R", "-v4", "-o", "dump.log"}, env);
        } catch (Exception e) {
            // training only: a failed dump still loaded most of what it needs
        } finally {
            org.jcriu.sys.Sys.kill(pid, org.jcriu.sys.Linux.SIGKILL);
            org.jcriu.sys.Sys.waitpid(pid, 0);
            try (var s = Files.list(Path.of(dir, "dump"))) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
                Files.deleteIfExists(Path.of(dir, "dump"));
            } catch (java.io.IOException e) {
                // left in the temp dir
            }
        }
    }

    public static void main(String[] args) throws Exception {
        CommandLine.Env env = new CommandLine.Env(Path.of("/nonexistent/jcriu-train.conf"), null, null);
        Path dir = Files.createTempDirectory("jcriu-train");
        try {
            String d = dir.toString();
            Main.run(new String[] {"--version"}, env);
            org.jcriu.service.Service.train();
            Main.run(new String[] {"--help"}, env);
            // never a dump that could run: the images dir does not exist, so it stops in validation
            Main.run(new String[] {"dump", "-t", "1", "-D", d + "/none", "-vvvv", "-o", "dump.log", "-j"}, env);
            trainDump(env, d);
            Main.run(new String[] {"restore", "-D", d, "-d", "--bogus"}, env);
            Main.run(new String[] {"check", "-D", d, "-o", "check.log", "-v4"}, env);
            Main.run(new String[] {"check", "--feature", "uffd-noncoop", "-D", d}, env);
            Main.run(new String[] {"check", "--all", "-D", d}, env);
            dumpAndRestore(env, dir);
            dumpAndRestoreTree(env, dir);
        } finally {
            try (var s = Files.walk(dir)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    /**
     * A real dump and restore of a sleep child of ours, so the cache also holds the dump, image
     * and restore classes. Only as root (else the commands just fail); the child, original or
     * restored, is killed by its pid, and only while it is still our sleep.
     */
    private static void dumpAndRestore(CommandLine.Env env, Path dir) throws Exception {
        if (!Files.readString(Path.of("/proc/self/status")).contains("\nUid:\t0\t")) return;
        String sleep = Files.isExecutable(Path.of("/bin/sleep")) ? "/bin/sleep" : "/usr/bin/sleep";
        int pid = Sys.posixSpawn(sleep, List.of("sleep", "1000"), List.of(), new int[] {-1, -1, -1}, true);
        Path images = Files.createDirectory(dir.resolve("images"));
        try {
            Thread.sleep(20);
            Main.run(new String[] {"dump", "-t", Integer.toString(pid), "-D", images.toString(), "-o", "dump.log", "-v4"}, env);
            Main.run(new String[] {"restore", "-d", "-D", images.toString(), "-o", "restore.log", "-v4"}, env);
        } finally {
            killIfSleep(pid);
        }
    }

    /**
     * The same for a small tree (a shell with two sleeps), whose dump and restore go through
     * classes a single task never needs (children cloned in their restored parent, inherited
     * memory, the tree's file table). The tree is killed by the pids it had when it was started.
     */
    private static void dumpAndRestoreTree(CommandLine.Env env, Path dir) throws Exception {
        if (!Files.readString(Path.of("/proc/self/status")).contains("\nUid:\t0\t")) return;
        int root = Sys.posixSpawn("/bin/sh", List.of("sh", "-c", "sleep 1000 & sleep 1000 & wait"), List.of(),
                new int[] {-1, -1, -1}, true);
        Path images = Files.createDirectory(dir.resolve("tree"));
        List<Integer> kids = List.of();
        try {
            for (int i = 0; i < 100 && kids.size() < 2; i++) {
                Thread.sleep(10);
                kids = children(root);
            }
            // the dump kills the tree: the root's PID is free for the restore once it is reaped
            if (Main.run(new String[] {"dump", "-t", Integer.toString(root), "-D", images.toString(), "-o", "dump.log", "-v4"}, env) != 0) {
                return;
            }
            reap(root, 0);
            Main.run(new String[] {"restore", "-d", "-D", images.toString(), "-o", "restore.log", "-v4"}, env);
        } finally {
            for (int k : kids) killIf(k, "sleep\0");
            killIf(root, "sh\0");
        }
    }

    private static List<Integer> children(int pid) {
        try {
            String c = Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).strip();
            return c.isEmpty() ? List.of() : java.util.Arrays.stream(c.split(" ")).map(Integer::valueOf).toList();
        } catch (java.io.IOException e) {
            return List.of();
        }
    }

    private static void killIfSleep(int pid) {
        killIf(pid, "sleep\0");
    }

    /** SIGKILL {@code pid} only while its command line starts with {@code cmd}, then reap it if it is our child. */
    private static void killIf(int pid, String cmd) {
        try {
            if (Files.readString(Path.of("/proc/" + pid + "/cmdline")).startsWith(cmd)) {
                Sys.kill(pid, Linux.SIGKILL);
                reap(pid, 0);
                return;
            }
        } catch (java.io.IOException | ErrnoException e) {
            // gone already
        }
        reap(pid, Linux.WNOHANG);
    }

    private static void reap(int pid, int options) {
        try {
            Sys.waitpid(pid, options);
        } catch (ErrnoException e) {
            // not our child any more (a restored task is the restorer's child, already reaped)
        }
    }
}

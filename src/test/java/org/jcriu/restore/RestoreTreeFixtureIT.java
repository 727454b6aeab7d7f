package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.jcriu.image.Fixtures;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.image.proto.PstreeEntry;
import org.jcriu.image.proto.TaskCoreEntry;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.testing.Images;
import org.jcriu.testing.Jcriu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tree written by upstream CRIU 4.2: {@code bash -c 'while true; do sleep 0.2; done'} (PID
 * 21143) and its {@code sleep} child (21147). Both come back with their PIDs, parent, session and
 * group, the shell carries on looping, and every failure, wherever in the tree it happens,
 * leaves neither task nor seed behind. Skipped when the fixtures are absent or a PID is taken.
 */
class RestoreTreeFixtureIT {
    static final int BASH = 21143, SLEEP = 21147, ZOMBIE = 21150, KILLED = 21151, GONE_LEADER = 21152;

    @TempDir
    Path tmp;
    Path dump;
    final List<PidLock> locks = new ArrayList<>();
    final List<Integer> ours = new ArrayList<>();

    @BeforeEach
    void copyFixture() throws IOException {
        dump = Fixtures.copy("bash-loop", tmp.resolve("bash-loop"));
        for (int pid : new int[] {BASH, SLEEP, ZOMBIE, KILLED, GONE_LEADER}) locks.add(PidLock.takeFree(pid));
        ours.add(BASH);
        ours.add(SLEEP);
    }

    @AfterEach
    void killRestored() throws IOException {
        for (int pid : ours) Procs.kill(pid); // only PIDs this test restored (or started)
        for (PidLock l : locks) l.close();
    }

    private static String stat(int pid) throws IOException {
        String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
        return "ppid " + f[1] + " pgid " + f[2] + " sid " + f[3];
    }

    private static List<Integer> children(int pid) throws IOException {
        String c = Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).trim();
        return c.isEmpty() ? List.of() : Stream.of(c.split(" ")).map(Integer::parseInt).toList();
    }

    @Test
    void shellAndChildComeBackAndTheLoopCarriesOn() throws IOException {
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", dump);
        assertEquals(0, r.exit(), r.all());
        assertEquals("bash", Procs.status(BASH, "Name"));
        assertTrue(stat(BASH).endsWith("pgid " + BASH + " sid " + BASH), stat(BASH));
        // the sleep may already have ended (0.2 s) and been replaced by the next one
        if (Procs.exists(SLEEP) && "sleep".equals(Procs.status(SLEEP, "Name"))) {
            assertEquals("ppid " + BASH + " pgid " + BASH + " sid " + BASH, stat(SLEEP));
        }
        assertEquals("0", Procs.status(BASH, "TracerPid"));
        long end = System.nanoTime() + 5_000_000_000L;
        boolean looped = false;
        while (!looped && System.nanoTime() < end) {
            for (int c : children(BASH)) {
                if (c != SLEEP) {
                    looped = true;
                    ours.add(c);
                }
            }
            Procs.sleep(20);
        }
        assertTrue(looped, "bash started no new sleep after restore: " + Procs.status(BASH, "State"));
        assertTrue(Procs.exists(BASH), "bash died");
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    /** Nothing is created when the PID of a child is taken: all are checked up front. */
    @Test
    void childPidInUseFailsBeforeAnythingIsCreated() throws Exception {
        Process p = new ProcessBuilder("sleep", "30").start();
        int taken = (int) p.pid();
        try {
            renameChild(taken);
            Jcriu.Result r = Jcriu.run("restore", "-d", "-D", dump);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("Error: PID " + taken + " (task " + taken + ") is in use by sleep"), r.stderr());
            assertFalse(Procs.exists(BASH));
            assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
        } finally {
            p.destroyForcibly().waitFor();
        }
    }

    /**
     * The child cannot be created once its parent exists (a PID the kernel refuses, pid_max):
     * the parent, already created, is killed; nothing is left.
     */
    @Test
    void childThatCannotBeCreatedKillsItsParent() throws IOException {
        int pidMax;
        try (var in = Files.newBufferedReader(Path.of("/proc/sys/kernel/pid_max"))) {
            pidMax = Integer.parseInt(in.readLine().trim()); // Files.readString sees a 0-byte /proc file
        }
        renameChild(pidMax);
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", dump);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("clone3(set_tid=" + pidMax + ") in task " + BASH), r.stderr());
        assertGone(BASH);
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    /** The child's image has a VMA kind jcriu refuses when it maps it: both tasks exist by then and both go. */
    @Test
    void failureWhileFillingTheChildKillsTheWholeTree() throws IOException {
        Images.rewriteOne(dump, ImageType.MM, MmEntry.parser(), mm -> {
            MmEntry.Builder b = mm.toBuilder();
            VmaEntry v = b.getVmas(b.getVmasCount() - 4);
            return b.setVmas(b.getVmasCount() - 4, v.toBuilder().setStatus(v.getStatus() | Vma.SOCKET).build()).build();
        }, SLEEP);
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", dump);
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("is a socket mapping: not supported yet"), r.stderr());
        assertGone(BASH);
        assertGone(SLEEP);
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    /** The last step before the tree runs fails (a stale pidfile): every task built so far is killed. */
    @Test
    void stalePidfileKillsTheWholeTree() throws IOException {
        Path pidfile = Files.writeString(tmp.resolve("stale.pid"), "1");
        Jcriu.Result r = Jcriu.run("restore", "-d", "--pidfile", pidfile, "-D", dump);
        assertEquals(1, r.exit(), r.all());
        assertGone(BASH);
        assertGone(SLEEP);
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    /**
     * A post-restore script sees the whole tree built and stopped, with the root's pid in
     * CRTOOLS_INIT_PID; when it fails, every task of the tree is killed.
     */
    @Test
    void failingPostRestoreScriptKillsTheWholeTree() throws Exception {
        Path seen = tmp.resolve("seen");
        Path script = tmp.resolve("post.sh");
        Files.writeString(script, String.join("\n", "#!/bin/sh", "[ \"$CRTOOLS_SCRIPT_ACTION\" = post-restore ] || exit 0",
                "echo \"$CRTOOLS_INIT_PID $(cut -d' ' -f3 /proc/" + BASH + "/stat) $(cut -d' ' -f3 /proc/" + SLEEP + "/stat)\" > " + seen,
                "exit 1", ""));
        script.toFile().setExecutable(true);
        Jcriu.Result r = Jcriu.run("restore", "-d", "--action-script", script, "-D", dump);
        assertEquals(1, r.exit(), r.all());
        assertEquals(BASH + " t t", Files.readString(seen).trim());
        assertGone(BASH);
        assertGone(SLEEP);
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    /** --pidfile names the root; without -d jcriu waits for the root and exits with its status. */
    @Test
    void pidfileNamesTheRootAndWaitingEndsWithItsStatus() throws Exception {
        Path pidfile = tmp.resolve("root.pid");
        Path out = tmp.resolve("restore.out");
        List<String> cmd = List.of(Path.of("bin", "jcriu").toAbsolutePath().toString(), "restore", "--pidfile", pidfile.toString(),
                "-D", dump.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
        long end = System.nanoTime() + 10_000_000_000L;
        while (!Files.exists(pidfile) && System.nanoTime() < end) Procs.sleep(10);
        assertEquals(Integer.toString(BASH), Files.readString(pidfile).trim());
        Procs.sleep(300);
        assertTrue(p.isAlive(), Files.readString(out));
        assertEquals(Long.toString(p.pid()), Procs.status(BASH, "PPid"));
        new ProcessBuilder("kill", "-TERM", Integer.toString(BASH)).inheritIO().start().onExit().join();
        assertTrue(p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS), "jcriu restore did not return");
        assertEquals(128 + 15, p.exitValue(), Files.readString(out));
    }

    /**
     * Two zombies added to the dump as CRIU writes them (only core-PID.img, threads [0]): one
     * exited with code 7 in its own group, one killed by SIGKILL. With --leave-stopped nothing
     * reaps them, so they are seen as their parent would wait for them. The live sleep child is
     * left out: stopped, it would send bash a SIGCHLD of its own.
     */
    @Test
    void zombiesComeBackAsChildrenOfTheirParentWithTheirStatus() throws IOException {
        writeTree(readTree().stream().filter(e -> e.getPid() != SLEEP).toList());
        addZombie(ZOMBIE, ZOMBIE, 7 << 8);
        addZombie(KILLED, BASH, 9);
        ours.add(ZOMBIE);
        ours.add(KILLED);
        Jcriu.Result r = Jcriu.run("restore", "-d", "--leave-stopped", "-D", dump);
        assertEquals(0, r.exit(), r.all());
        assertEquals("ppid " + BASH + " pgid " + ZOMBIE + " sid " + BASH, stat(ZOMBIE));
        assertEquals("ppid " + BASH + " pgid " + BASH + " sid " + BASH, stat(KILLED));
        for (int z : new int[] {ZOMBIE, KILLED}) {
            assertEquals("Z (zombie)", Procs.status(z, "State"));
            assertEquals("zombie-" + z, Procs.status(z, "Name"));
        }
        assertEquals(7 << 8, exitCode(ZOMBIE));
        assertEquals(9, exitCode(KILLED));
        assertTrue(Procs.status(BASH, "State").startsWith("T"), Procs.status(BASH, "State"));
        assertEquals("0000000000000000", Procs.status(BASH, "SigPnd"), "the zombies' SIGCHLD reached the restored parent");
        assertEquals("0000000000000000", Procs.status(BASH, "ShdPnd"), "the zombies' SIGCHLD reached the restored parent");
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    /**
     * The sleep child was in a process group whose leader (21152) had exited: a helper at 21152
     * makes the group again, the child joins it, and the helper is gone (reaped, no zombie).
     */
    @Test
    void aGroupWhoseLeaderExitedIsMadeAgainByAHelper() throws IOException {
        ours.add(GONE_LEADER);
        writeTree(readTree().stream().map(e -> e.getPid() == SLEEP ? e.toBuilder().setPgid(GONE_LEADER).build() : e).toList());
        Jcriu.Result r = Jcriu.run("restore", "-d", "--leave-stopped", "-D", dump);
        assertEquals(0, r.exit(), r.all());
        assertEquals("ppid " + BASH + " pgid " + GONE_LEADER + " sid " + BASH, stat(SLEEP));
        assertEquals("ppid 1 pgid " + BASH + " sid " + BASH, stat(BASH).replaceFirst("ppid \\d+", "ppid 1"));
        assertFalse(Procs.exists(GONE_LEADER), "helper left: " + Procs.status(GONE_LEADER, "State"));
        assertTrue(Procs.leftovers().isEmpty(), Procs.leftovers().toString());
    }

    /** The exit_code field of /proc/PID/stat: the raw wait status. */
    private static int exitCode(int pid) throws IOException {
        String s = Files.readString(Path.of("/proc/" + pid + "/stat")).trim();
        String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(f[f.length - 1]);
    }

    private void addZombie(int pid, int pgid, int status) throws IOException {
        List<PstreeEntry> tree = new ArrayList<>(readTree());
        tree.add(PstreeEntry.newBuilder().setPid(pid).setPpid(BASH).setPgid(pgid).setSid(BASH).addThreads(0).build());
        writeTree(tree);
        try (ImageWriter w = new ImageDir(dump).create(ImageType.CORE, pid)) {
            w.write(CoreEntry.newBuilder().setMtype(CoreEntry.March.X86_64).setTc(TaskCoreEntry.newBuilder().setTaskState(2)
                    .setExitCode(status).setPersonality(0).setFlags(0).setBlkSigset(0).setComm("zombie-" + pid)).build());
        }
    }

    private List<PstreeEntry> readTree() throws IOException {
        return new ArrayList<>(Images.all(dump, ImageType.PSTREE, PstreeEntry.parser()));
    }

    private void writeTree(List<PstreeEntry> tree) throws IOException {
        Images.write(dump, ImageType.PSTREE, tree);
    }

    /** Killed tasks of the tree are reaped by us, or by init once their parent is gone: give it a moment. */
    private static void assertGone(int pid) {
        long end = System.nanoTime() + 5_000_000_000L;
        while (Procs.exists(pid) && System.nanoTime() < end) Procs.sleep(10);
        assertFalse(Procs.exists(pid), "task " + pid + " left: " + Procs.status(pid, "State") + ", parent " + Procs.status(pid, "PPid"));
    }

    /** Moves the dumped child to {@code pid}: its pstree entry and the images named after it. */
    private void renameChild(int pid) throws IOException {
        List<PstreeEntry> tree = new ArrayList<>();
        for (PstreeEntry e : readTree()) tree.add(e.getPid() == SLEEP ? e.toBuilder().setPid(pid).setThreads(0, pid).build() : e);
        writeTree(tree);
        for (String kind : new String[] {"core", "ids", "mm", "pagemap", "fs"}) {
            Files.move(dump.resolve(kind + "-" + SLEEP + ".img"), dump.resolve(kind + "-" + pid + ".img"));
        }
    }
}

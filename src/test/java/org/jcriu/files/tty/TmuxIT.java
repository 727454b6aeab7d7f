package org.jcriu.files.tty;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.ProcState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real terminal multiplexer: a detached tmux server (its listening unix socket, the pty
 * master, libevent's pipes) with an interactive sh in the pty (the slave as its controlling
 * terminal, /dev/tty open), dumped and restored as a tree; tmux clients still reach the server
 * and the shell still runs what is typed into it.
 */
class TmuxIT {
    @TempDir Path tmp;
    private final List<Integer> pids = new ArrayList<>();

    @AfterEach
    void killAll() {
        for (int p : pids) ProcState.kill9(p);
    }

    private String tmux(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("tmux", "-S", tmp.resolve("sock").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(Path.of("/dev/null").toFile());
        pb.environment().remove("TMUX");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "tmux " + args[0] + " hangs");
        assertEquals(0, p.exitValue(), "tmux " + String.join(" ", args) + ": " + out);
        return out;
    }

    /** Types {@code line} into the shell and waits until the pane shows {@code expect}. */
    private String typeAndSee(String line, String expect) throws Exception {
        tmux("send-keys", line, "Enter");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        String pane;
        do {
            Thread.sleep(50);
            pane = tmux("capture-pane", "-p");
        } while (!pane.contains(expect) && System.nanoTime() < deadline);
        return pane;
    }

    /** As {@link #typeAndSee(String, String)}, in window {@code window} of the session. */
    private String typeAndSee(int window, String line, String expect) throws Exception {
        tmux("send-keys", "-t", ":" + window, line, "Enter");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        String pane;
        do {
            Thread.sleep(50);
            pane = tmux("capture-pane", "-p", "-t", ":" + window);
        } while (!pane.contains(expect) && System.nanoTime() < deadline);
        return pane;
    }

    /** Every descendant of {@code pid}, depth first. */
    private static List<Integer> descendants(int pid) throws Exception {
        List<Integer> out = new ArrayList<>();
        for (String k : Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).trim().split("\\s+")) {
            if (k.isEmpty()) continue;
            out.add(Integer.parseInt(k));
            out.addAll(descendants(Integer.parseInt(k)));
        }
        return out;
    }

    /**
     * Two windows, two ptys and two sessions; in the first a nested interactive sh (a member of
     * the window's session, in the foreground of its terminal). After the restore both windows
     * still run what is typed, and /dev/tty opens in the nested shell and in the second window's
     * shell: members have their controlling terminal and the foreground group is the nested shell's.
     */
    @Test
    void tmuxWithTwoWindowsAndANestedShellCarriesOn() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/tmux")), "tmux is not installed");
        tmux("-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24", "/bin/sh");
        int server = Integer.parseInt(tmux("display", "-p", "#{pid}").strip());
        pids.add(server);
        tmux("new-window", "-d", "/bin/sh");
        tmux("send-keys", "-t", ":0", "sh", "Enter");
        assertTrue(typeAndSee(0, "echo inner-$((2+3))", "inner-5").contains("inner-5"));
        assertTrue(typeAndSee(1, "echo w1-$((1+1))", "w1-2").contains("w1-2"));
        List<Integer> tree = descendants(server);
        pids.addAll(tree);
        assertEquals(3, tree.size(), "two shells and a nested one under the server: " + tree);

        Path d = Files.createDirectories(tmp.resolve("imgs"));
        Jcriu.Result r = Jcriu.run("dump", "-t", server, "-D", d, "-v4", "-o", "dump.log");
        assertEquals(0, r.exit(), r.all());
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        for (int p : pids) while (ProcState.alive(p) && System.nanoTime() < deadline) Thread.sleep(10);
        r = Jcriu.run("restore", "-D", d, "-d", "-v4", "-o", "restore.log");
        assertEquals(0, r.exit(), r.all());

        String ctty = "$(: </dev/tty && echo ctty-ok)";
        String pane = typeAndSee(0, "echo inner-$((3+4)) " + ctty, "inner-7 ctty-ok");
        assertTrue(pane.contains("inner-5"), "window 0 lost what it showed: " + pane);
        assertTrue(pane.contains("inner-7 ctty-ok"), "the nested shell did not run the command or has no terminal: " + pane);
        pane = typeAndSee(1, "echo w1-$((4+5)) " + ctty, "w1-9 ctty-ok");
        assertTrue(pane.contains("w1-9 ctty-ok"), "window 1's shell did not run the command or has no terminal: " + pane);
        tmux("send-keys", "-t", ":0", "exit", "Enter");
        assertTrue(typeAndSee(0, "echo outer-$((5+6)) " + ctty, "outer-11 ctty-ok").contains("outer-11 ctty-ok"),
                "the outer shell did not get its terminal back after the nested one exited");
        assertTrue(tmux("list-sessions").contains("2 windows"));
    }

    @Test
    void tmuxServerAndItsShellCarryOnAfterRestore() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/tmux")), "tmux is not installed");
        tmux("-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24", "/bin/sh");
        int server = Integer.parseInt(tmux("display", "-p", "#{pid}").strip());
        pids.add(server);
        assertTrue(typeAndSee("echo before-$((40+2))", "before-42").contains("before-42"));
        String kids = Files.readString(Path.of("/proc/" + server + "/task/" + server + "/children")).strip();
        assertFalse(kids.isEmpty(), "no shell under the tmux server");
        int shell = Integer.parseInt(kids.split("\\s+")[0]);
        pids.add(shell);

        Path d = Files.createDirectories(tmp.resolve("imgs"));
        Jcriu.Result r = Jcriu.run("dump", "-t", server, "-D", d, "-v4", "-o", "dump.log");
        assertEquals(0, r.exit(), r.all());
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while ((ProcState.alive(server) || ProcState.alive(shell)) && System.nanoTime() < deadline) Thread.sleep(10);
        r = Jcriu.run("restore", "-D", d, "-d", "-v4", "-o", "restore.log");
        assertEquals(0, r.exit(), r.all());

        String pane = typeAndSee("echo after-$((50+2)) $(tty)", "after-52 /dev/pts/");
        assertTrue(pane.contains("before-42"), "the pane lost what it showed: " + pane);
        assertTrue(pane.contains("after-52 /dev/pts/"), "the restored shell did not run the command (or lost its terminal): " + pane);
        assertTrue(tmux("list-sessions").contains("1 windows"));
    }
}

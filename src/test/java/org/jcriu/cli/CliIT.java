package org.jcriu.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bin/jcriu as a user runs it: exact stdout, stderr and exit status. */
class CliIT {
    static final Path LAUNCHER = Path.of("bin/jcriu").toAbsolutePath();

    @TempDir
    Path dir;
    Path home;

    record Result(int rc, String out, String err) {}

    @BeforeEach
    void isolate() throws IOException {
        home = Files.createDirectories(dir.resolve("home"));
    }

    Result run(Path exe, Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(exe.toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        pb.environment().remove("CRIU_CONFIG_FILE");
        pb.environment().put("HOME", home.toString());
        pb.environment().putAll(env);
        Path out = dir.resolve("stdout"), err = dir.resolve("stderr");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) throw new AssertionError("jcriu " + List.of(args) + " hung");
        } finally {
            p.destroyForcibly();
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    Result jcriu(String... args) throws Exception {
        return run(LAUNCHER, Map.of(), args);
    }

    void assertFails(Result r, String stderr) {
        assertEquals(stderr, r.err());
        assertEquals("", r.out());
        assertEquals(1, r.rc());
    }

    @Test
    void badInvocations() throws Exception {
        assertFails(jcriu(), "Error: command is required (try 'jcriu --help')\n");
        assertFails(jcriu("--bogus", "check"), "Error: unknown option '--bogus' (try 'jcriu --help')\n");
        assertFails(jcriu("check", "-Q"), "Error: unknown option '-Q' (try 'jcriu --help')\n");
        assertFails(jcriu("dump", "-t", "abc"), "Error: invalid argument for --tree: abc (try 'jcriu --help')\n");
        assertFails(jcriu("dump", "-t"), "Error: option '-t' requires an argument (try 'jcriu --help')\n");
        assertFails(jcriu("dump", "--tree"), "Error: option '--tree' requires an argument (try 'jcriu --help')\n");
        assertFails(jcriu("dump"), "Error: pid not specified: use -t PID (try 'jcriu --help')\n");
        assertFails(jcriu("undump"), "Error: unknown command: undump (try 'jcriu --help')\n");
        assertFails(jcriu("check", "--timeout", "soon"), "Error: invalid argument for --timeout: soon (try 'jcriu --help')\n");
        assertFails(jcriu("check", "--feature", "warp_drive"), "Error: Unknown feature warp_drive (see 'check --feature list')\n");
    }

    @Test
    void version() throws Exception {
        Result r = jcriu("--version");
        assertEquals(0, r.rc());
        assertEquals("", r.err());
        String[] l = r.out().split("\n");
        assertEquals("Version: 4.2", l[0]);
        assertTrue(l[1].matches("GitID: v4\\.2-0-jcriu-[^\\s]+"), l[1]);
        assertTrue(l[2].startsWith("jcriu: "), l[2]);
        assertEquals(r.out(), jcriu("-V").out());
    }

    @Test
    void help() throws Exception {
        Result r = jcriu("dump", "--bogus", "-h");
        assertEquals(0, r.rc());
        assertEquals("", r.err());
        assertTrue(r.out().startsWith("Usage:\n  jcriu dump|pre-dump -t PID"), r.out());
        assertTrue(r.out().contains("--tcp-established"));
    }

    @Test
    void checkLooksGood() throws Exception {
        Result r = jcriu("check");
        assertEquals("", r.err());
        assertEquals("Looks good.\n", r.out());
        assertEquals(0, r.rc());
        Result f = jcriu("check", "--feature", "pidfd_store");
        assertEquals("pidfd_store is supported\n", f.out());
        assertEquals(0, f.rc());
        // what LXC asks before a lazy migration: only yes once jcriu has lazy-pages
        Result u = jcriu("check", "--feature", "uffd-noncoop");
        if (Implemented.command("lazy-pages")) {
            assertEquals("uffd-noncoop is supported\n", u.out());
        } else {
            assertEquals("uffd-noncoop: the kernel has it, but jcriu has no lazy-pages yet\n", u.out());
            assertEquals(1, u.rc());
        }
    }

    @Test
    void runsAsCriuThroughASymlink() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("path"));
        Path criu = Files.createSymbolicLink(bin.resolve("criu"), LAUNCHER);
        Result r = run(criu, Map.of(), "--bogus");
        assertFails(r, "Error: unknown option '--bogus' (try 'criu --help')\n");
        Result v = run(criu, Map.of(), "--version");
        assertTrue(v.out().startsWith("Version: 4.2\n"), v.out());
        // a relative symlink to a symlink, as package managers make them
        Path two = Files.createSymbolicLink(bin.resolve("criu2"), Path.of("criu"));
        assertEquals("Looks good.\n", run(two, Map.of(), "check").out());
    }

    @Test
    void configFileErrorsNameFileAndLine() throws Exception {
        Path conf = dir.resolve("x.conf");
        Files.writeString(conf, "# jcriu test\nbogus-option\n");
        Result r = run(LAUNCHER, Map.of("CRIU_CONFIG_FILE", conf.toString()), "check");
        assertFails(r, "Error: unknown option 'bogus-option' in " + conf + " line 2 (try 'jcriu --help')\n");
        Files.writeString(home.resolve("broken.conf"), "tree\n");
        Result u = jcriu("--config", home.resolve("broken.conf").toString(), "check");
        assertFails(u, "Error: option 'tree' in " + home.resolve("broken.conf") + " line 1 requires an argument (try 'jcriu --help')\n");
    }

    @Test
    void userConfigFileIsRead() throws Exception {
        Files.createDirectories(home.resolve(".criu"));
        Files.writeString(home.resolve(".criu/default.conf"), "log-file from-home.log\nverbosity=4\n");
        Path images = Files.createDirectories(dir.resolve("img"));
        Result r = jcriu("check", "-D", images.toString());
        assertEquals("Looks good.\n", r.out());
        assertTrue(Files.readString(images.resolve("from-home.log")).contains("check: ptrace_seize: ok"));
        Result n = jcriu("check", "-D", images.toString(), "--no-default-config", "-o", "other.log");
        assertEquals(0, n.rc());
        assertTrue(!Files.readString(images.resolve("other.log")).contains("ptrace_seize"));
    }

    @Test
    void notImplementedFailsNamingIt() throws Exception {
        // Whatever is still missing when this runs: the table shrinks as the engines grow.
        for (String cmd : List.of("pre-dump", "lazy-pages", "page-server", "dedup", "cpuinfo-dump", "cpuinfo-check")) {
            if (Implemented.command(cmd)) continue;
            List<String> args = new ArrayList<>(List.of(cmd.split("-(?=dump|check)")));
            if (cmd.equals("pre-dump")) args = new ArrayList<>(List.of("pre-dump", "-t", "1"));
            assertFails(jcriu(args.toArray(String[]::new)),
                    "Error: command '" + String.join(" ", args.subList(0, cmd.startsWith("cpuinfo") ? 2 : 1))
                            + "' is not implemented yet\n");
        }
        String missing = null;
        for (OptionDef d : OptionTable.byName().values()) {
            if (d.scope().contains("restore") && d.arg() == OptionDef.Arg.NONE && !Implemented.option("restore", d.name())
                    && !d.name().equals("exec-cmd") && !d.name().equals("restore-sibling")) {
                missing = d.name();
                break;
            }
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(missing != null, "every restore flag is implemented");
        assertFails(jcriu("restore", "--" + missing), "Error: option --" + missing + " is not implemented yet for 'restore'\n");
    }

    @Test
    void errorGoesToStderrAndLogFileRelativeToWorkDir() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(Implemented.command("lazy-pages"), "lazy-pages exists now");
        Path images = Files.createDirectories(dir.resolve("img"));
        Path work = Files.createDirectories(dir.resolve("work"));
        Result r = jcriu("lazy-pages", "-D", images.toString(), "-W", work.toString(), "-o", "lazy.log");
        assertFails(r, "Error: command 'lazy-pages' is not implemented yet\n");
        String log = Files.readString(work.resolve("lazy.log"));
        assertTrue(log.matches("(?s)Error \\(Main\\.java:\\d+\\): command 'lazy-pages' is not implemented yet\n"), log);
        assertFails(jcriu("lazy-pages", "-v0"), "");
    }

    @Test
    void logToStdoutWithDash() throws Exception {
        Result r = jcriu("check", "-v3", "-o", "-");
        assertEquals(0, r.rc());
        assertTrue(r.out().matches("(?s)\\(\\d\\d\\.\\d{6}\\) Version: 4\\.2 \\(gitid v4\\.2-0-jcriu-.*Looks good\\.\n"), r.out());
        assertEquals("", r.err());
    }

    @Test
    void closeInheritedFd() throws Exception {
        Path sh = Path.of("/bin/bash");
        Result r = run(sh, Map.of(), "-c", "exec 7</dev/null; exec \"$0\" check --close 7 -v3 -o -", LAUNCHER.toString());
        assertTrue(r.out().contains("Closing fd 7 (/dev/null)"), r.out());
        assertTrue(r.out().endsWith("Looks good.\n"), r.out());
        assertEquals(0, r.rc());
    }

    @Test
    void nonRootLikeCriu() throws Exception {
        Path setpriv = Path.of("/usr/bin/setpriv");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(setpriv), "setpriv not installed");
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        String[] nobody = {"--reuid=65534", "--regid=65534", "--clear-groups"};
        List<String> a = new ArrayList<>(List.of(nobody));
        a.addAll(List.of(LAUNCHER.toString(), "check"));
        assertFails(run(setpriv, Map.of(), a.toArray(String[]::new)),
                "Error: jcriu needs root, CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE (effective capabilities: 0x0)\n");
        List<String> c = new ArrayList<>(List.of(nobody));
        c.addAll(List.of("--inh-caps=+checkpoint_restore", "--ambient-caps=+checkpoint_restore", LAUNCHER.toString(), "check"));
        assertFails(run(setpriv, Map.of(), c.toArray(String[]::new)), "Error: Running as non-root requires '--unprivileged'\n");
    }

    /** A real dump through the command line: stats on stdout, nothing on stderr, log where -o says. */
    @Test
    void dumpWithDisplayStats() throws Exception {
        Path images = Files.createDirectories(dir.resolve("img"));
        try (org.jcriu.testing.Workload w = org.jcriu.testing.Workload.sleep(dir.resolve("w"))) {
            Result r = jcriu("dump", "-t", Integer.toString(w.pid()), "-D", images.toString(), "-o", "dump.log",
                    "--display-stats");
            assertEquals("", r.err());
            assertEquals(0, r.rc(), r.out());
            assertTrue(r.out().matches("Displaying dump stats:\nFreezing time: \\d+ us\nFrozen time: \\d+ us\n"
                    + "Memory dump time: \\d+ us\nMemory write time: \\d+ us\n(IRMAP resolve time: \\d+ us\n)?"
                    + "Memory pages scanned: \\d+ \\(0x[0-9a-f]+\\)\nMemory pages skipped from parent: \\d+ \\(0x[0-9a-f]+\\)\n"
                    + "Memory pages written: [1-9]\\d* \\(0x[0-9a-f]+\\)\nLazy memory pages: \\d+ \\(0x[0-9a-f]+\\)\n"), r.out());
            assertTrue(Files.exists(images.resolve("dump.log")));
            assertTrue(Files.exists(images.resolve("stats-dump")));
        }
    }

    /**
     * A real restore through the command line: --display-stats prints criu's restore stats,
     * stats-restore is written next to the images, and --log-pid puts the lines about the
     * restored task into restore.log.PID instead of restore.log.
     */
    @Test
    void restoreWithDisplayStatsAndLogPid() throws Exception {
        Path images = Files.createDirectories(dir.resolve("img"));
        try (org.jcriu.testing.Workload w = org.jcriu.testing.Workload.sleep(dir.resolve("w"))) {
            int pid = w.pid();
            assertEquals(0, jcriu("dump", "-t", Integer.toString(pid), "-D", images.toString()).rc());
            w.waitGone(java.time.Duration.ofSeconds(10));
            Result r = jcriu("restore", "-d", "-D", images.toString(), "-o", "restore.log", "-v4", "--log-pid", "--display-stats");
            assertEquals("", r.err());
            assertEquals(0, r.rc(), r.out());
            assertTrue(r.out().matches("Displaying restore stats:\nPages compared: \\d+ \\(0x[0-9a-f]+\\)\n"
                    + "Pages skipped COW: \\d+ \\(0x[0-9a-f]+\\)\nPages restored: [1-9]\\d* \\(0x[0-9a-f]+\\)\n"
                    + "Restore time: [1-9]\\d* us\nForking time: [1-9]\\d* us\n"), r.out());
            assertTrue(Files.size(images.resolve("stats-restore")) > 12, "stats-restore");
            if (Files.isExecutable(Path.of("/usr/bin/crit"))) {
                Result c = run(Path.of("/usr/bin/crit"), Map.of(), "decode", "-i", images.resolve("stats-restore").toString());
                assertTrue(c.rc() == 0 && c.out().contains("\"restore\": {\"pages_compared\": 0") && c.out().contains("\"restore_time\""),
                        c.out() + c.err());
            }
            String perTask = Files.readString(images.resolve("restore.log." + pid));
            assertTrue(perTask.contains("created task " + pid), perTask);
            String main = Files.readString(images.resolve("restore.log"));
            assertTrue(main.contains("Restore finished successfully") && !main.contains("created task " + pid), main);
        }
    }

    @Test
    void missingImagesDir() throws Exception {
        assertFails(jcriu("check", "-D", dir.resolve("nope").toString()),
                "Error: Couldn't open image dir " + dir.resolve("nope") + ": No such file or directory\n");
    }
}

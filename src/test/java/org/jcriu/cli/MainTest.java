package org.jcriu.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.jcriu.CriuException;
import org.jcriu.opts.Options;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Command validation and the not-implemented table, without running any command. */
class MainTest {
    @TempDir
    Path dir;

    Options prepared(String... argv) {
        CommandLine.Parsed p = CommandLine.parse(argv, new CommandLine.Env(dir.resolve("none.conf"), null, null));
        Main.prepare(p.options(), p.operands());
        return p.options();
    }

    String error(String... argv) {
        return assertThrows(CriuException.class, () -> prepared(argv)).getMessage();
    }

    @Test
    void commands() {
        assertEquals("command is required", error("-D", dir.toString()));
        assertEquals("unknown command: frobnicate", error("frobnicate"));
        assertEquals("excessive parameter for command check: x", error("check", "x"));
        assertEquals("excessive parameters for command check: x y", error("check", "x", "y"));
        assertEquals("pid not specified: use -t PID", error("dump"));
        assertEquals("Cannot pre-dump with --lazy-pages", error("pre-dump", "-t", "1", "--lazy-pages"));
        assertEquals("--restore-sibling only makes sense with --restore-detached", error("restore", "-S"));
        assertEquals("--inherit-fd is restore-only option", error("dump", "-t", "1", "--inherit-fd", "fd[1]:x"));
        assertEquals("cpuinfo requires an action: dump or check", error("cpuinfo"));
        assertEquals("unknown cpuinfo sub-command: show", error("cpuinfo", "show"));
        assertEquals("cpuinfo-check", prepared("-D", dir.toString(), "cpuinfo", "check").command);
        assertEquals("swrk needs exactly one argument: the socket fd", error("swrk"));
        assertEquals(3, prepared("swrk", "3").swrkFd);
        assertEquals("The \"exec\" action is deprecated by the Compel library.", error("exec"));
    }

    @Test
    void execCmd() {
        assertEquals(List.of("sh", "-c", "exit 3"),
                prepared("-D", dir.toString(), "restore", "--exec-cmd", "--", "sh", "-c", "exit 3").execCmd);
        assertEquals("--exec-cmd requires a command", error("restore", "--exec-cmd"));
        assertEquals("--exec-cmd is available for the restore command only", error("check", "--exec-cmd", "--", "x"));
        assertEquals("--restore-detached and --exec-cmd cannot be used together",
                error("restore", "-d", "--exec-cmd", "--", "x"));
    }

    @Test
    void pathsAreResolvedLikeCriuAfterChdir() throws Exception {
        Path images = Files.createDirectory(dir.resolve("img"));
        Path work = Files.createDirectory(dir.resolve("work"));
        Options o = prepared("check", "-D", images.toString(), "-W", work.toString(), "-o", "c.log", "--pidfile", "p");
        assertEquals(images, o.imagesDir);
        assertEquals(work, o.workDir);
        assertEquals(work.resolve("c.log").toString(), o.logFile);
        assertEquals(work.resolve("p"), o.pidfile);
        Options d = prepared("check", "-D", images.toString(), "-o", "/abs.log");
        assertEquals(images, d.workDir);
        assertEquals("/abs.log", d.logFile);
        assertEquals("-", prepared("check", "-D", images.toString(), "-o", "-").logFile);
        assertEquals("Couldn't open image dir " + dir.resolve("nope") + ": No such file or directory",
                error("check", "-D", dir.resolve("nope").toString()));
        assertEquals("Can't change directory to " + dir.resolve("nope") + ": No such file or directory",
                error("check", "-D", images.toString(), "-W", dir.resolve("nope").toString()));
    }

    @Test
    void notImplementedIsNamed() {
        Options o = prepared("-D", dir.toString(), "check");
        Main.checkImplemented(o, Set.of("extra", "tcp-established", "tree"));
        o.command = "dedup";
        assertEquals("command 'dedup' is not implemented yet",
                assertThrows(CriuException.class, () -> Main.checkImplemented(o, Set.of())).getMessage());
        o.command = "dump";
        Main.checkImplemented(o, Set.of("tree", "verbosity", "log-file", "feature"));
        String missing = OptionTable.byName().values().stream()
                .filter(d -> d.scope().contains("dump") && !Implemented.option("dump", d.name()))
                .map(OptionDef::name).findFirst().orElseThrow();
        assertEquals("option --" + missing + " is not implemented yet for 'dump'",
                assertThrows(CriuException.class, () -> Main.checkImplemented(o, Set.of("tree", missing))).getMessage());
    }

    @Test
    void implementedTableNamesRealOptions() {
        for (var e : Implemented.COMMANDS.entrySet()) {
            for (String opt : e.getValue()) {
                String base = opt.startsWith("no-") ? opt.substring(3) : opt;
                OptionDef d = OptionTable.byName().get(base);
                if (d == null) throw new AssertionError("Implemented lists unknown option " + opt);
                if (!d.scope().contains(e.getKey())) {
                    throw new AssertionError("Implemented lists " + opt + " for " + e.getKey() + " outside its scope");
                }
            }
        }
    }

    @Test
    void versionShape() {
        String[] l = Version.text().split("\n");
        assertEquals("Version: 4.2", l[0]);
        assertEquals(true, l[1].matches("GitID: v4\\.2-0-jcriu-.+"));
        assertEquals(true, l[2].startsWith("jcriu: "));
    }

    @Test
    void helpListsEveryLongOption() {
        String help = Usage.text("jcriu");
        for (String name : OptionTable.byName().keySet()) {
            if (name.equals("ms")) continue;
            if (!help.contains("--" + name)) throw new AssertionError("--help does not mention --" + name);
        }
    }
}

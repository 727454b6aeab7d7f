package org.jcriu.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.jcriu.CriuException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogTest {
    @TempDir
    Path dir;
    final ByteArrayOutputStream buf = new ByteArrayOutputStream();

    @AfterEach
    void reset() {
        Log.configure(Log.LOG_WARN, System.err);
        Log.setStdout(System.out);
    }

    String[] lines() {
        Log.flush();
        return buf.toString(StandardCharsets.UTF_8).split("\n");
    }

    @Test
    void defaultLevelHasNoTimestampsAndKeepsWarnings() {
        Log.configure(Log.LOG_WARN, new PrintStream(buf, true, StandardCharsets.UTF_8));
        Logger l = Log.get("eventfd");
        l.info("hidden");
        l.warn("careful %d", 7);
        l.error("broken");
        String[] out = lines();
        assertEquals(2, out.length);
        assertTrue(out[0].matches("Warn  \\(LogTest\\.java:\\d+\\): eventfd: careful 7"), out[0]);
        assertTrue(out[1].matches("Error \\(LogTest\\.java:\\d+\\): eventfd: broken"), out[1]);
        assertEquals("eventfd: broken", Log.firstError());
    }

    @Test
    void infoLevelAddsTimestampsAndPidColumn() {
        Log.configure(Log.LOG_INFO, new PrintStream(buf, true, StandardCharsets.UTF_8));
        Log.get("").info("plain");
        Log.get("rst").forPid(4321).info("task line");
        Log.get("x").debug("hidden");
        String[] out = lines();
        assertEquals(2, out.length);
        assertTrue(out[0].matches("\\(\\d\\d\\.\\d{6}\\) plain"), out[0]);
        assertTrue(out[1].matches("\\(\\d\\d\\.\\d{6}\\)   4321: rst: task line"), out[1]);
    }

    @Test
    void levelZeroLogsNothing() {
        Log.configure(0, new PrintStream(buf, true, StandardCharsets.UTF_8));
        Log.get("x").error("nope");
        assertEquals("", buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void msgGoesToStdoutWhateverTheLevel() {
        Log.configure(0, System.err);
        Log.setStdout(new PrintStream(buf, true, StandardCharsets.UTF_8));
        Log.msg("Looks good.\n");
        assertEquals("Looks good.\n", buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void fileIsCreated0600AndTruncated() throws Exception {
        Path f = dir.resolve("dump.log");
        Files.writeString(f, "old content that must go\n");
        Log.toFile(f, Log.LOG_DEBUG);
        Log.get("x").debug("new");
        Log.errorAt(new StackTraceElement("C", "m", "Dumper.java", 42), "failed");
        Log.flush();
        String s = Files.readString(f);
        assertTrue(s.matches("(?s)\\(\\d\\d\\.\\d{6}\\) x: new\n\\(\\d\\d\\.\\d{6}\\) Error \\(Dumper\\.java:42\\): failed\n"), s);
        Path g = dir.resolve("new.log");
        Log.toFile(g, Log.LOG_WARN);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(g)));
        assertEquals(g, Log.file());
    }

    @Test
    void logPidWritesTaskLinesToTheirOwnFile() throws Exception {
        Path f = dir.resolve("restore.log");
        Log.toFile(f, Log.LOG_WARN);
        Log.perPidFiles(true);
        Log.get("").warn("main line");
        Log.get("files").forPid(77).warn("task line");
        Log.flush();
        assertTrue(Files.readString(f).matches("Warn  \\(LogTest\\.java:\\d+\\): main line\n"), Files.readString(f));
        String t = Files.readString(dir.resolve("restore.log.77"));
        assertTrue(t.matches("Warn  \\(LogTest\\.java:\\d+\\): files: task line\n"), t);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("restore.log.77"))));
    }

    @Test
    void unwritableLogFileIsAClearError() {
        Path f = dir.resolve("no/such/dir/x.log");
        assertEquals("Can't create log file " + f + ": No such file or directory",
                assertThrows(CriuException.class, () -> Log.toFile(f, 2)).getMessage());
    }
}

package org.jcriu.log;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

import org.jcriu.CriuException;

/**
 * CRIU-format log (criu/log.c). Levels as criu: 0 messages only, 1 errors, 2 warnings (default),
 * 3 info, 4 debug. From level 3 up every line starts with {@code (SS.uuuuuu) }, seconds since
 * the log was opened (CRIU's LOG_TIMESTAMP = default + 1); errors add {@code Error (File:line): }
 * and warnings {@code Warn  (File:line): }; lines of a restored task's helper may carry a
 * {@code %6d: } pid prefix ({@link Logger#forPid}).
 *
 * <p>One sink per process, configured once by the command line or the RPC worker before any
 * work starts; everything else only writes through {@link Logger}. Without {@code -o} the log
 * goes to stderr, with {@code -o -} to stdout, as CRIU. {@link #msg} is CRIU's pr_msg: always
 * to stdout, whatever the level (used for "Looks good.", --display-stats).
 */
public final class Log {
    public static final int LOG_MSG = 0, LOG_ERROR = 1, LOG_WARN = 2, LOG_INFO = 3, LOG_DEBUG = 4;
    static final int LOG_TIMESTAMP = LOG_WARN + 1;

    private static volatile int level = LOG_WARN;
    private static volatile PrintStream out = System.err;
    private static volatile Path file;
    private static volatile long startNanos = System.nanoTime();
    private static volatile String firstError;
    private static volatile PrintStream stdout = System.out;
    private static volatile boolean perPidFiles;
    private static final java.util.Map<Integer, PrintStream> PID_FILES = new java.util.concurrent.ConcurrentHashMap<>();

    private Log() {}

    public static Logger get(String prefix) {
        return new Logger(prefix, 0);
    }

    /** Where lines go and which are kept; called once by whoever owns the process. */
    public static synchronized void configure(int newLevel, PrintStream sink) {
        closeFile();
        perPidFiles = false;
        level = newLevel;
        out = sink;
        file = null;
        startNanos = System.nanoTime();
        firstError = null;
    }

    /**
     * Logs to {@code path} (created 0600, truncated: CRIU's O_CREAT|O_TRUNC) at {@code newLevel}.
     * Throws a CriuException naming the file when it cannot be created.
     */
    public static synchronized void toFile(Path path, int newLevel) {
        OutputStream os;
        try {
            try {
                Files.createFile(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (java.nio.file.FileAlreadyExistsException e) {
                // truncated below, permissions kept, as open(O_CREAT|O_TRUNC) does
            }
            os = Files.newOutputStream(path, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
        } catch (IOException | UnsupportedOperationException e) {
            throw new CriuException("Can't create log file " + path + ": " + CriuException.reason(e), e);
        }
        configure(newLevel, new PrintStream(new BufferedOutputStream(os, 8192), true, StandardCharsets.UTF_8));
        file = path;
    }

    /** The log file, or null when logging to a standard stream. */
    public static Path file() {
        return file;
    }

    /** True when log lines already reach stderr (no -o): the CLI must not print errors twice. */
    public static boolean toStderr() {
        return out == System.err;
    }

    public static int level() {
        return level;
    }

    public static boolean enabled(int lvl) {
        return lvl <= level;
    }

    /** The first error logged since configure: what RPC reports as cr_errmsg. */
    public static String firstError() {
        return firstError;
    }

    /** CRIU's pr_msg: a line for the user on stdout, whatever the log level. */
    public static void msg(String fmt, Object... args) {
        PrintStream o = stdout;
        synchronized (o) {
            o.print(args.length == 0 ? fmt : String.format(fmt, args));
            o.flush();
        }
    }

    /** Redirects {@link #msg} (tests, RPC worker). */
    public static void setStdout(PrintStream s) {
        stdout = s;
    }

    /** An error at a known code location (e.g. where an exception was thrown). */
    public static void errorAt(StackTraceElement where, String msg) {
        if (!enabled(LOG_ERROR)) return;
        String loc = where == null ? "" : where.getFileName() + ":" + where.getLineNumber();
        write(LOG_ERROR, "Error (" + loc + "): " + msg, msg, 0);
    }

    /** The stack trace of {@code t}, logged at debug level (the CLI does this at -v4 only). */
    public static void stackTrace(Throwable t) {
        stackTrace(t, false);
    }

    /** The stack trace of {@code t}: at debug level, or whatever the level when {@code always}. */
    public static void stackTrace(Throwable t, boolean always) {
        if (!always && !enabled(LOG_DEBUG)) return;
        StringWriter sw = new StringWriter();
        t.printStackTrace(new PrintWriter(sw));
        for (String line : sw.toString().split("\n")) write(LOG_DEBUG, line, null, 0);
    }

    public static synchronized void flush() {
        out.flush();
        for (PrintStream p : PID_FILES.values()) p.flush();
    }

    private static void closeFile() {
        if (file != null) {
            out.flush();
            out.close();
        }
        for (PrintStream p : PID_FILES.values()) p.close();
        PID_FILES.clear();
    }

    /**
     * --log-pid: lines of {@link Logger#forPid} loggers go to {@code <log file>.<pid>} (created
     * 0600 on first use) instead of the main log, as CRIU's per-task restore logs. Without a log
     * file (stderr, stdout) it changes nothing: those lines keep their pid column.
     */
    public static synchronized void perPidFiles(boolean on) {
        perPidFiles = on;
    }

    static void emit(int lvl, String prefix, String msg, int pid) {
        if (lvl > level) return;
        StringBuilder sb = new StringBuilder(msg.length() + 48);
        if (lvl == LOG_ERROR || lvl == LOG_WARN) {
            StackWalker.StackFrame f = StackWalker.getInstance()
                    .walk(s -> s.filter(fr -> !fr.getClassName().equals(Log.class.getName())
                            && !fr.getClassName().equals(Logger.class.getName())).findFirst().orElse(null));
            sb.append(lvl == LOG_ERROR ? "Error (" : "Warn  (");
            if (f != null) sb.append(f.getFileName()).append(':').append(f.getLineNumber());
            sb.append("): ");
        }
        if (!prefix.isEmpty()) sb.append(prefix).append(": ");
        sb.append(msg);
        write(lvl, sb.toString(), lvl == LOG_ERROR ? (prefix.isEmpty() ? msg : prefix + ": " + msg) : null, pid);
    }

    private static void write(int lvl, String line, String errorText, int pid) {
        if (errorText != null && firstError == null) {
            synchronized (Log.class) {
                if (firstError == null) firstError = errorText;
            }
        }
        StringBuilder sb = new StringBuilder(line.length() + 24);
        if (level >= LOG_TIMESTAMP) {
            long us = (System.nanoTime() - startNanos) / 1000;
            sb.append('(').append(two(us / 1_000_000)).append('.').append(six(us % 1_000_000)).append(") ");
        }
        PrintStream o = out;
        if (pid != 0) {
            PrintStream p = perPidFiles && file != null ? pidFile(pid) : null;
            if (p != null) o = p;
            else sb.append(String.format("%6d: ", pid));
        }
        sb.append(line);
        synchronized (o) {
            o.println(sb);
        }
    }

    private static PrintStream pidFile(int pid) {
        Path main = file;
        return PID_FILES.computeIfAbsent(pid, k -> {
            Path p = main.resolveSibling(main.getFileName() + "." + k);
            try {
                try {
                    Files.createFile(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    // truncated below
                }
                return new PrintStream(new BufferedOutputStream(Files.newOutputStream(p, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING), 8192), true, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new CriuException("Can't create log file " + p + ": " + CriuException.reason(e), e);
            }
        });
    }


    private static String two(long v) {
        return v < 10 ? "0" + v : Long.toString(v);
    }

    private static String six(long v) {
        String s = Long.toString(v);
        return "000000".substring(s.length()) + s;
    }
}

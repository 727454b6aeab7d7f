package org.jcriu.log;

import java.io.PrintStream;

/**
 * CRIU-format log (criu/log.c): every line starts with {@code (SS.uuuuuu) }, seconds since the
 * log was opened; errors add {@code Error (File:line): } and warnings {@code Warn  (File:line): }.
 * Levels as criu: 0 none (errors still go to stderr), 1 error, 2 warn (default), 3 info, 4 debug.
 *
 * <p>One sink per process, configured once by the command line or the RPC worker before any
 * work starts; everything else only writes through {@link Logger}. The full implementation
 * (files, --log-pid, -o relative to -W) lives in the cli/log work; this is the contract.
 */
public final class Log {
    public static final int LOG_MSG = 0, LOG_ERROR = 1, LOG_WARN = 2, LOG_INFO = 3, LOG_DEBUG = 4;

    private static volatile int level = LOG_WARN;
    private static volatile PrintStream out = System.err;
    private static volatile long startNanos = System.nanoTime();

    private Log() {}

    public static Logger get(String prefix) {
        return new Logger(prefix);
    }

    /** Where lines go and which are kept; called once by whoever owns the process. */
    public static synchronized void configure(int newLevel, PrintStream sink) {
        level = newLevel;
        out = sink;
    }

    public static int level() {
        return level;
    }

    public static boolean enabled(int lvl) {
        return lvl <= level;
    }

    static void emit(int lvl, String prefix, String msg) {
        if (lvl > level) return;
        long us = (System.nanoTime() - startNanos) / 1000;
        StringBuilder sb = new StringBuilder(msg.length() + 48);
        sb.append('(').append(two(us / 1_000_000)).append('.').append(six(us % 1_000_000)).append(") ");
        if (lvl == LOG_ERROR || lvl == LOG_WARN) {
            StackWalker.StackFrame f = StackWalker.getInstance()
                    .walk(s -> s.filter(fr -> !fr.getClassName().startsWith("org.jcriu.log.")).findFirst().orElse(null));
            sb.append(lvl == LOG_ERROR ? "Error (" : "Warn  (");
            if (f != null) sb.append(f.getFileName()).append(':').append(f.getLineNumber());
            sb.append("): ");
        }
        if (!prefix.isEmpty()) sb.append(prefix).append(": ");
        sb.append(msg);
        PrintStream o = out;
        synchronized (o) {
            o.println(sb);
        }
    }

    private static String two(long v) {
        return v < 10 ? "0" + v : Long.toString(v);
    }

    private static String six(long v) {
        String s = Long.toString(v);
        return "000000".substring(s.length()) + s;
    }
}

package org.jcriu.log;

/**
 * A log prefix, as CRIU's {@code LOG_PREFIX} ("pie: ", "eventfd: "). Messages are String.format
 * patterns. {@link #forPid} gives the same prefix with CRIU's {@code %6d: } task column, used by
 * restore code that logs on behalf of one task.
 */
public final class Logger {
    private final String prefix;
    private final int pid;

    Logger(String prefix, int pid) {
        this.prefix = prefix;
        this.pid = pid;
    }

    /**
     * This logger on behalf of task {@code taskPid}: a {@code "%6d: "} pid column after the
     * timestamp, as CRIU's per-task restore lines, or with --log-pid its own {@code <log>.<pid>}
     * file ({@link Log#perPidFiles}).
     */
    public Logger forPid(int taskPid) {
        return new Logger(prefix, taskPid);
    }

    public boolean debugEnabled() {
        return Log.enabled(Log.LOG_DEBUG);
    }

    public boolean infoEnabled() {
        return Log.enabled(Log.LOG_INFO);
    }

    public void debug(String fmt, Object... args) {
        if (Log.enabled(Log.LOG_DEBUG)) Log.emit(Log.LOG_DEBUG, prefix, fmt(fmt, args), pid);
    }

    public void info(String fmt, Object... args) {
        if (Log.enabled(Log.LOG_INFO)) Log.emit(Log.LOG_INFO, prefix, fmt(fmt, args), pid);
    }

    public void warn(String fmt, Object... args) {
        if (Log.enabled(Log.LOG_WARN)) Log.emit(Log.LOG_WARN, prefix, fmt(fmt, args), pid);
    }

    public void error(String fmt, Object... args) {
        if (Log.enabled(Log.LOG_ERROR)) Log.emit(Log.LOG_ERROR, prefix, fmt(fmt, args), pid);
    }

    private static String fmt(String fmt, Object[] args) {
        return args.length == 0 ? fmt : String.format(fmt, args);
    }
}

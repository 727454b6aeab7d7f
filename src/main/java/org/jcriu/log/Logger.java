package org.jcriu.log;

/** A log prefix, as CRIU's {@code LOG_PREFIX} ("pie: ", "eventfd: "). Messages are String.format patterns. */
public final class Logger {
    private final String prefix;

    Logger(String prefix) {
        this.prefix = prefix;
    }

    public boolean debugEnabled() {
        return Log.enabled(Log.LOG_DEBUG);
    }

    public void debug(String fmt, Object... args) {
        if (Log.enabled(Log.LOG_DEBUG)) Log.emit(Log.LOG_DEBUG, prefix, fmt(fmt, args));
    }

    public void info(String fmt, Object... args) {
        if (Log.enabled(Log.LOG_INFO)) Log.emit(Log.LOG_INFO, prefix, fmt(fmt, args));
    }

    public void warn(String fmt, Object... args) {
        if (Log.enabled(Log.LOG_WARN)) Log.emit(Log.LOG_WARN, prefix, fmt(fmt, args));
    }

    public void error(String fmt, Object... args) {
        if (Log.enabled(Log.LOG_ERROR)) Log.emit(Log.LOG_ERROR, prefix, fmt(fmt, args));
    }

    private static String fmt(String fmt, Object[] args) {
        return args.length == 0 ? fmt : String.format(fmt, args);
    }
}

package org.jcriu.proc;

import org.jcriu.CriuException;

/**
 * /proc/PID/limits. Read instead of prlimit(2) because prlimit on a task with other credentials
 * needs CAP_SYS_RESOURCE, which this kind of host does not grant. Rows are in RLIMIT_* order
 * (fs/proc/base.c lnames[]), "unlimited" is RLIM_INFINITY (all ones).
 */
public final class Limits {
    public static final int RLIM_NLIMITS = 16;
    public static final long RLIM_INFINITY = -1L;

    private Limits() {}

    /** [i][0] = soft, [i][1] = hard, for RLIMIT number i. */
    public static long[][] read(int pid) {
        return parse(ProcFs.readString(pid, "limits"), pid);
    }

    public static long[][] parse(String text, int pid) {
        String[] lines = text.split("\n");
        long[][] r = new long[RLIM_NLIMITS][2];
        int row = 0;
        for (int i = 1; i < lines.length && row < RLIM_NLIMITS; i++) {
            String line = lines[i];
            if (line.length() < 26) continue;
            // The name column is 25 characters wide; the values follow, space separated.
            String[] v = line.substring(26).trim().split("\\s+");
            if (v.length < 2) throw new CriuException("Can't parse /proc/" + pid + "/limits line: " + line);
            r[row][0] = value(v[0]);
            r[row][1] = value(v[1]);
            row++;
        }
        if (row != RLIM_NLIMITS) throw new CriuException("/proc/" + pid + "/limits has " + row + " limits, expected " + RLIM_NLIMITS);
        return r;
    }

    private static long value(String s) {
        return s.equals("unlimited") ? RLIM_INFINITY : Long.parseUnsignedLong(s);
    }
}

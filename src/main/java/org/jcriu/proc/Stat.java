package org.jcriu.proc;

import org.jcriu.CriuException;

/**
 * /proc/PID/stat (proc(5) field numbers in comments). comm may contain spaces and parentheses,
 * so the fixed fields are parsed after the last ')'.
 */
public record Stat(int pid, String comm, char state, int ppid, int pgid, int sid, int ttyNr,
                   long flags, long nice, int numThreads, long startTime, long startCode,
                   long endCode, long startStack, long exitSignal, long policy, long startData,
                   long endData, long startBrk, long argStart, long argEnd, long envStart,
                   long envEnd, int exitCode) {

    public static Stat read(int pid) {
        return parse(ProcFs.read(pid, "stat"), pid);
    }

    public static Stat parse(byte[] b, int pid) {
        int open = indexOf(b, (byte) '(');
        int close = lastIndexOf(b, (byte) ')');
        if (open < 0 || close < open) throw new CriuException("Can't parse /proc/" + pid + "/stat: no comm");
        String comm = new String(b, open + 1, close - open - 1, java.nio.charset.StandardCharsets.ISO_8859_1);
        int p = close + 2;
        // Fields from 3 (state) on, space separated; field 3 is a char.
        char state = (char) b[p];
        long[] f = new long[53];
        int idx = 4;
        p += 2;
        while (idx < f.length && p < b.length) {
            boolean neg = false;
            if (b[p] == '-') { neg = true; p++; }
            long v = 0;
            while (p < b.length && b[p] >= '0' && b[p] <= '9') v = v * 10 + (b[p++] - '0');
            f[idx++] = neg ? -v : v;
            while (p < b.length && (b[p] == ' ' || b[p] == '\n')) p++;
        }
        if (idx < 52) throw new CriuException("Can't parse /proc/" + pid + "/stat: only " + idx + " fields");
        return new Stat(pid, comm, state, (int) f[4], (int) f[5], (int) f[6], (int) f[7], f[9], f[19],
                (int) f[20], f[22], f[26], f[27], f[28], f[38], f[41], f[45], f[46], f[47], f[48],
                f[49], f[50], f[51], (int) f[52]);
    }

    private static int indexOf(byte[] b, byte c) {
        for (int i = 0; i < b.length; i++) if (b[i] == c) return i;
        return -1;
    }

    private static int lastIndexOf(byte[] b, byte c) {
        for (int i = b.length - 1; i >= 0; i--) if (b[i] == c) return i;
        return -1;
    }
}

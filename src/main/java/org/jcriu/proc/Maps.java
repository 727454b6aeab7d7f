package org.jcriu.proc;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jcriu.CriuException;

/**
 * Parses /proc/PID/smaps into {@link Vma}s: the maps header line of each block plus its VmFlags
 * (MAP_GROWSDOWN, MADV_DONTDUMP, locking are only visible there). /proc/PID/maps (no VmFlags)
 * is accepted too. Works on bytes: a 1 GiB process has few VMAs but long smaps blocks.
 */
public final class Maps {
    private Maps() {}

    public static List<Vma> read(int pid) {
        return parse(ProcFs.read(pid, "smaps"), pid);
    }

    public static List<Vma> parse(byte[] b, int pid) {
        List<Vma> out = new ArrayList<>();
        int p = 0;
        int n = b.length;
        long[] cur = null;
        String curPath = null;
        long curFlags = 0;
        long curPageSize = 4096;
        while (p < n) {
            int eol = p;
            while (eol < n && b[eol] != '\n') eol++;
            byte c = b[p];
            if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
                if (cur != null) out.add(make(cur, curPath, curFlags, curPageSize));
                cur = new long[10];
                curFlags = 0;
                curPageSize = 4096;
                int[] pos = {p};
                cur[0] = hex(b, pos, eol, pid);          // start
                pos[0]++;                                // '-'
                cur[1] = hex(b, pos, eol, pid);          // end
                pos[0]++;
                cur[2] = b[pos[0]] == 'r' ? 1 : 0;
                cur[3] = b[pos[0] + 1] == 'w' ? 1 : 0;
                cur[4] = b[pos[0] + 2] == 'x' ? 1 : 0;
                cur[5] = b[pos[0] + 3] == 's' ? 1 : 0;
                pos[0] += 5;
                cur[6] = hex(b, pos, eol, pid);          // offset
                pos[0]++;
                cur[7] = hex(b, pos, eol, pid);          // major
                pos[0]++;
                cur[8] = hex(b, pos, eol, pid);          // minor
                pos[0]++;
                long ino = 0;
                int q = pos[0];
                while (q < eol && b[q] >= '0' && b[q] <= '9') ino = ino * 10 + (b[q++] - '0');
                while (q < eol && b[q] == ' ') q++;
                curPath = new String(b, q, eol - q, StandardCharsets.UTF_8);
                cur[9] = ino;
            } else if (eol - p > 15 && b[p] == 'K' && startsWith(b, p, "KernelPageSize:")) {
                // hugetlb VMAs say their huge page size here; "KernelPageSize:    2048 kB"
                long kb = 0;
                for (int q = p + 15; q < eol; q++) if (b[q] >= '0' && b[q] <= '9') kb = kb * 10 + (b[q] - '0');
                if (kb > 0) curPageSize = kb * 1024;
            } else if (eol - p > 8 && b[p] == 'V' && startsWith(b, p, "VmFlags:")) {
                int q = p + 8;
                while (q + 1 < eol) {
                    if (b[q] == ' ') { q++; continue; }
                    curFlags |= Vma.flagOf((char) b[q], (char) b[q + 1]);
                    q += 2;
                }
            }
            p = eol + 1;
        }
        if (cur != null) out.add(make(cur, curPath, curFlags, curPageSize));
        return out;
    }

    private static Vma make(long[] v, String path, long flags, long pageSize) {
        return new Vma(v[0], v[1], v[2] != 0, v[3] != 0, v[4] != 0, v[5] != 0, v[6], (int) v[7],
                (int) v[8], v[9], path, flags, pageSize);
    }

    private static boolean startsWith(byte[] b, int p, String s) {
        for (int i = 0; i < s.length(); i++) if (b[p + i] != s.charAt(i)) return false;
        return true;
    }

    private static long hex(byte[] b, int[] pos, int end, int pid) {
        int p = pos[0];
        long v = 0;
        int start = p;
        while (p < end) {
            int c = b[p];
            int d;
            if (c >= '0' && c <= '9') d = c - '0';
            else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
            else break;
            v = (v << 4) | d;
            p++;
        }
        if (p == start) throw new CriuException("Can't parse /proc/" + pid + "/smaps at byte " + p);
        pos[0] = p;
        return v;
    }
}

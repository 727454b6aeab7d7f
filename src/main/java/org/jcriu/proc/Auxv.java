package org.jcriu.proc;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** /proc/PID/auxv: (type, value) pairs of 64-bit words up to and excluding AT_NULL. */
public final class Auxv {
    private Auxv() {}

    /** Flat list type, value, type, value ... as mm_entry.mm_saved_auxv stores it. */
    public static long[] read(int pid) {
        return parse(ProcFs.read(pid, "auxv"));
    }

    public static long[] parse(byte[] b) {
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.nativeOrder());
        int words = b.length / 8;
        int n = 0;
        while (n + 1 < words && bb.getLong(n * 8) != 0) n += 2;
        long[] r = new long[n];
        for (int i = 0; i < n; i++) r[i] = bb.getLong(i * 8);
        return r;
    }
}

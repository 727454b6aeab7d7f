package org.jcriu.proc;

import java.util.HashMap;
import java.util.Map;
import org.jcriu.CriuException;

/** /proc/PID/status: the "Key:\tvalue" lines, with typed accessors for what a dump needs. */
public final class Status {
    private final int pid;
    private final Map<String, String> fields;

    private Status(int pid, Map<String, String> fields) {
        this.pid = pid;
        this.fields = fields;
    }

    public static Status read(int pid) {
        return parse(ProcFs.readString(pid, "status"), pid);
    }

    public static Status parse(String text, int pid) {
        Map<String, String> m = new HashMap<>(64);
        int start = 0;
        while (start < text.length()) {
            int nl = text.indexOf('\n', start);
            if (nl < 0) nl = text.length();
            int colon = text.indexOf(':', start);
            if (colon > start && colon < nl) m.put(text.substring(start, colon), text.substring(colon + 1, nl).strip());
            start = nl + 1;
        }
        return new Status(pid, m);
    }

    public String get(String key) {
        String v = fields.get(key);
        if (v == null) throw new CriuException("No " + key + " in /proc/" + pid + "/status");
        return v;
    }

    public boolean has(String key) {
        return fields.containsKey(key);
    }

    public int getInt(String key) {
        return Integer.parseInt(get(key));
    }

    /** A hexadecimal mask such as SigBlk or CapEff. */
    public long getHex(String key) {
        return Long.parseUnsignedLong(get(key), 16);
    }

    /** Whitespace-separated decimal values (Uid, Gid, Groups, NSpid). */
    public long[] getList(String key) {
        String v = get(key).strip();
        if (v.isEmpty()) return new long[0];
        String[] parts = v.split("\\s+");
        long[] r = new long[parts.length];
        for (int i = 0; i < parts.length; i++) r[i] = Long.parseLong(parts[i]);
        return r;
    }

    /** State letter: R, S, D, T (stopped), t (tracing stop), Z, X, I. */
    public char state() {
        return get("State").charAt(0);
    }

    public int tracerPid() {
        return getInt("TracerPid");
    }

    public int threads() {
        return getInt("Threads");
    }

    /** Umask line exists since Linux 4.7; octal. */
    public int umask() {
        return Integer.parseInt(get("Umask"), 8);
    }
}

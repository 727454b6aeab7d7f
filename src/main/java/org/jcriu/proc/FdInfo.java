package org.jcriu.proc;

/**
 * /proc/PID/fdinfo/N: the fields every fd has. flags are the file's f_flags (O_* in octal; the
 * kernel adds O_CLOEXEC when the fd has FD_CLOEXEC), pos its f_pos.
 */
public record FdInfo(long pos, int flags, int mntId, long ino, String text) {

    public static FdInfo read(int pid, int fd) {
        return parse(ProcFs.readString(pid, "fdinfo/" + fd));
    }

    public static FdInfo parse(String text) {
        long pos = 0, ino = 0;
        int flags = 0, mnt = 0;
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) continue;
            String k = line.substring(0, colon);
            String v = line.substring(colon + 1).strip();
            switch (k) {
                case "pos" -> pos = Long.parseLong(v);
                case "flags" -> flags = Integer.parseInt(v, 8);
                case "mnt_id" -> mnt = Integer.parseInt(v);
                case "ino" -> ino = Long.parseLong(v);
                default -> { }
            }
        }
        return new FdInfo(pos, flags, mnt, ino, text);
    }
}

package org.jcriu.files.reg;

import java.util.ArrayList;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.sys.Sys;

/**
 * One line of /proc/PID/mountinfo: the mount's id, its device ("MAJ:MIN" as st_dev shows it),
 * the directory of its file system it shows ({@code root}) and where it is mounted. jcriu
 * works in the tasks' mount namespace, so its own mountinfo is theirs.
 */
public record MountInfo(int id, int parent, String dev, String root, String mountPoint, String fsType) {

    /** The mounts of {@code pid}'s mount namespace ("self" for jcriu's), in mount order. */
    public static List<MountInfo> of(String pid) {
        String path = "/proc/" + pid + "/mountinfo";
        List<MountInfo> out = new ArrayList<>();
        String text;
        try {
            text = Sys.readString(path);
        } catch (CriuException ex) {
            throw new CriuException(ex.errno(), "Can't read " + path + ": " + ex.getMessage(), ex);
        }
        for (String line : text.split("\n")) {
            if (line.isEmpty()) continue;
            String[] f = line.split(" ");
            int sep = 6;
            while (sep < f.length && !f[sep].equals("-")) sep++;
            out.add(new MountInfo(Integer.parseInt(f[0]), Integer.parseInt(f[1]), f[2], unescape(f[3]), unescape(f[4]),
                    sep + 1 < f.length ? f[sep + 1] : ""));
        }
        return out;
    }

    public static MountInfo byId(List<MountInfo> mounts, int id) {
        for (MountInfo m : mounts) if (m.id() == id) return m;
        return null;
    }

    /** "MAJ:MIN" of a stat(2) st_dev, as mountinfo writes it. */
    public static String dev(long stDev) {
        return org.jcriu.sys.Stat.major(stDev) + ":" + org.jcriu.sys.Stat.minor(stDev);
    }

    /**
     * {@code path} relative to this mount's mount point ("" for the mount point itself), or null
     * when the path is not below it.
     */
    public String relative(String path) {
        if (mountPoint.equals("/")) return path.substring(1);
        if (path.equals(mountPoint)) return "";
        if (path.startsWith(mountPoint + "/")) return path.substring(mountPoint.length() + 1);
        return null;
    }

    /** The kernel writes space, tab, newline and backslash in mountinfo as octal escapes. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) return s;
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && isOctal(s, i + 1)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    private static boolean isOctal(String s, int at) {
        if (at + 3 > s.length()) return false;
        for (int i = at; i < at + 3; i++) if (s.charAt(i) < '0' || s.charAt(i) > '7') return false;
        return true;
    }
}

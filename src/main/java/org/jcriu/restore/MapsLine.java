package org.jcriu.restore;

import java.util.ArrayList;
import java.util.List;

import org.jcriu.sys.Sys;

/** One line of /proc/PID/maps, as the restorer needs it to find and clear the seed's mappings. */
record MapsLine(long start, long end, String perms, long offset, String dev, long inode, String path) {

    static List<MapsLine> of(int pid) {
        return parse(Sys.readString("/proc/" + pid + "/maps"));
    }

    static List<MapsLine> parse(String maps) {
        List<MapsLine> out = new ArrayList<>();
        for (String line : maps.split("\n")) {
            if (line.isBlank()) continue;
            String[] f = line.trim().split("\\s+", 6);
            int dash = f[0].indexOf('-');
            out.add(new MapsLine(Long.parseUnsignedLong(f[0].substring(0, dash), 16),
                    Long.parseUnsignedLong(f[0].substring(dash + 1), 16), f[1], Long.parseUnsignedLong(f[2], 16), f[3],
                    Long.parseLong(f[4]), f.length > 5 ? f[5] : ""));
        }
        return out;
    }

    long size() {
        return end - start;
    }

    boolean overlaps(long s, long e) {
        return Long.compareUnsigned(s, end) < 0 && Long.compareUnsigned(e, start) > 0;
    }

    /** The line as it reads without device and inode, which a restore necessarily changes. */
    String withoutInode() {
        return String.format("%x-%x %s %08x %s", start, end, perms, offset, path);
    }
}

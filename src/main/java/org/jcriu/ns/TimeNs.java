package org.jcriu.ns;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import org.jcriu.CriuException;
import org.jcriu.image.proto.TimensEntry;
import org.jcriu.image.proto.Timespec;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Time namespaces (CLONE_NEWTIME). A time namespace only shifts CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME (and their raw/coarse/alarm variants) by fixed offsets against the host's clocks;
 * the offsets are absolute, never relative to a parent namespace. /proc/PID/timens_offsets shows
 * the offsets of PID's time_for_children namespace, which is also its own one whenever the two
 * links are equal (the only layout jcriu and CRIU dump).
 *
 * <p>Image ids are CRIU's: jcriu's own namespaces are numbered 1..8 in the inventory's root_ids
 * (time is 5), and a root task in a namespace of its own gets the next number, 9 (CRIU's
 * ns_next_id after its own eight); timens-ID.img then holds the clocks as the tasks saw them.
 */
public final class TimeNs {
    public static final int CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7;
    /** time_ns_id of jcriu's own namespace and of a dumped root's own one (CRIU's numbering). */
    public static final int HOST_ID = 5, OWN_ID = 9;
    private static final long NSEC = 1_000_000_000L;

    private TimeNs() {}

    /** {@code /proc/PID/ns/time} (or {@code time_for_children}) as "time:[inode]", "?" when unreadable. */
    public static String link(int pid, String which) {
        try {
            return Sys.readlink("/proc/" + pid + "/ns/" + which);
        } catch (ErrnoException e) {
            return "?";
        }
    }

    /** Whether {@code pid} lives in another time namespace than jcriu. */
    public static boolean own(int pid) {
        return !link(pid, "time").equals(link(Sys.getpid(), "time"));
    }

    /** Offsets of {@code pid}'s time_for_children namespace: {monotonic sec, nsec, boottime sec, nsec}. */
    public static long[] offsets(int pid) {
        String path = "/proc/" + pid + "/timens_offsets";
        String text;
        try {
            text = new String(Sys.readFile(path), StandardCharsets.US_ASCII);
        } catch (ErrnoException e) {
            if (e.errno() == org.jcriu.sys.Errno.ENOENT) return new long[4]; // a kernel without time namespaces
            throw new CriuException(e.errno(), "Can't read " + path + ": " + e.getMessage(), e);
        }
        return parseOffsets(text, path);
    }

    /** "monotonic SEC NSEC\nboottime SEC NSEC\n" (names or clock ids, as the kernel accepts both). */
    static long[] parseOffsets(String text, String path) {
        long[] o = new long[4];
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length != 3) continue;
            int at = switch (f[0]) {
                case "monotonic", "1" -> 0;
                case "boottime", "7" -> 2;
                default -> -1;
            };
            if (at < 0) continue;
            try {
                o[at] = Long.parseLong(f[1]);
                o[at + 1] = Long.parseLong(f[2]);
            } catch (NumberFormatException e) {
                throw new CriuException("Can't parse " + path + ": " + line);
            }
        }
        return o;
    }

    /** clock_gettime in jcriu's own namespace, in nanoseconds. */
    public static long now(int clock) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ts = a.allocate(16, 8);
            Sys.check("clock_gettime(" + clock + ")", Nr.CLOCK_GETTIME, clock, ts.address());
            return ts.get(JAVA_LONG, 0) * NSEC + ts.get(JAVA_LONG, 8);
        }
    }

    /** The host's clock (the init time namespace's), whatever namespace jcriu runs in. */
    public static long hostNow(int clock) {
        long[] mine = offsets(Sys.getpid());
        int at = clock == CLOCK_MONOTONIC ? 0 : 2;
        return now(clock) - (mine[at] * NSEC + mine[at + 1]);
    }

    /** {@code clock} as {@code pid} (whose time_for_children is its own namespace) reads it now, in ns. */
    public static long clockOf(int pid, int clock) {
        long[] o = offsets(pid);
        int at = clock == CLOCK_MONOTONIC ? 0 : 2;
        return hostNow(clock) + o[at] * NSEC + o[at + 1];
    }

    /** timens-ID.img's entry: both clocks as {@code pid}'s namespace shows them now. */
    public static TimensEntry clocks(int pid) {
        return TimensEntry.newBuilder().setMonotonic(timespec(clockOf(pid, CLOCK_MONOTONIC)))
                .setBoottime(timespec(clockOf(pid, CLOCK_BOOTTIME))).build();
    }

    private static Timespec timespec(long ns) {
        return Timespec.newBuilder().setTvSec(Math.floorDiv(ns, NSEC)).setTvNsec(Math.floorMod(ns, NSEC)).build();
    }

    static long nanos(Timespec t) {
        return t.getTvSec() * NSEC + t.getTvNsec();
    }

    /**
     * The text to write to timens_offsets so that a new namespace's clocks read {@code dumped}
     * now: offset = dumped - host clock, per clock, nanoseconds normalised into [0, 1e9) as the
     * kernel requires (the seconds may be negative).
     */
    public static String offsetsFor(TimensEntry dumped) {
        long mono = nanos(dumped.getMonotonic()) - hostNow(CLOCK_MONOTONIC);
        long boot = nanos(dumped.getBoottime()) - hostNow(CLOCK_BOOTTIME);
        return line(CLOCK_MONOTONIC, mono) + line(CLOCK_BOOTTIME, boot);
    }

    static String line(int clock, long ns) {
        return clock + " " + Math.floorDiv(ns, NSEC) + " " + Math.floorMod(ns, NSEC) + "\n";
    }
}

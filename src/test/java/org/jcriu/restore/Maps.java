package org.jcriu.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * /proc/PID/maps lines without device and inode (which a restore necessarily changes), and the
 * same lines as a dump's mm image says they must read. The kernel's vvar may be one VMA or two
 * ([vvar] and [vvar_vclock] since 6.x), so adjacent vvar lines are merged on both sides.
 */
final class Maps {
    private Maps() {}

    static List<String> of(int pid) throws IOException {
        return normalize(MapsLine.parse(Files.readString(Path.of("/proc/" + pid + "/maps"))));
    }

    /** "start-end flags" per VMA from /proc/PID/smaps: protections, growsdown, accounting, madvise bits. */
    static List<String> vmFlags(int pid) throws IOException {
        List<String> out = new ArrayList<>();
        String range = null;
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            if (!l.isEmpty() && Character.digit(l.charAt(0), 16) >= 0 && l.indexOf('-') > 0 && l.indexOf(' ') > l.indexOf('-')) {
                range = l.substring(0, l.indexOf(' '));
            } else if (l.startsWith("VmFlags:") && range != null) {
                out.add(range + " " + l.substring(8).trim());
            }
        }
        return out;
    }

    static List<String> normalize(List<MapsLine> lines) {
        List<String> out = new ArrayList<>();
        MapsLine vvar = null;
        for (MapsLine l : lines) {
            if (l.path().startsWith("[vvar")) {
                vvar = vvar == null ? new MapsLine(l.start(), l.end(), l.perms(), 0, "", 0, "[vvar]")
                        : new MapsLine(vvar.start(), l.end(), vvar.perms(), 0, "", 0, "[vvar]");
                continue;
            }
            if (vvar != null) out.add(vvar.withoutInode());
            vvar = null;
            out.add(l.withoutInode());
        }
        if (vvar != null) out.add(vvar.withoutInode());
        return out;
    }

    /** What /proc/PID/maps must show for the VMAs of a dump. */
    static List<String> expected(TaskImages img) {
        List<MapsLine> lines = new ArrayList<>();
        var mm = img.mm();
        for (Vma v : img.vmas()) {
            String perms = ((v.prot() & 1) != 0 ? "r" : "-") + ((v.prot() & 2) != 0 ? "w" : "-")
                    + ((v.prot() & 4) != 0 ? "x" : "-") + ((v.flags() & 1) != 0 ? "s" : "p");
            String path;
            long off = 0;
            if (v.fileBacked()) {
                path = img.files().get((int) v.shmid()).getReg().getName();
                off = v.pgoff();
            } else if (v.is(Vma.ANON_SHARED) && !v.is(Vma.SYSVIPC)) {
                path = "/dev/zero (deleted)";
                off = v.pgoff();
            } else if (v.is(Vma.VDSO)) {
                path = "[vdso]";
            } else if (v.is(Vma.VVAR)) {
                path = "[vvar]";
            } else if (v.is(Vma.VSYSCALL)) {
                path = "[vsyscall]";
            } else if (Long.compareUnsigned(v.start(), mm.getMmBrk()) < 0 && Long.compareUnsigned(v.end(), mm.getMmStartBrk()) > 0) {
                path = "[heap]"; // the kernel's vma_is_initial_heap()
            } else if (Long.compareUnsigned(v.start(), mm.getMmStartStack()) <= 0
                    && Long.compareUnsigned(v.end(), mm.getMmStartStack()) >= 0) {
                path = "[stack]"; // vma_is_initial_stack()
                path = "[stack]";
            } else {
                path = "";
            }
            lines.add(new MapsLine(v.start(), v.end(), perms, off, "", 0, path));
        }
        return normalize(lines);
    }
}

package org.jcriu.restore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.jcriu.CriuException;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.RegFileEntry;

/**
 * Checks, before anything is created, that every file the task maps (and its exe) is on this
 * machine as it was dumped: same size and, when the dump recorded one, the same ELF build-id.
 * Mapping a different libc at the dumped addresses would crash the task at its first call.
 */
final class MappedFiles {

    private MappedFiles() {}

    /** The path of a dumped file on this machine ({@code root} is -r/--root, or null). */
    static String path(RegFileEntry f, Path root) {
        return root == null ? f.getName() : root.resolve(f.getName().substring(1)).toString();
    }

    /**
     * File ids remap-fpath.img points elsewhere (a ghost file holding an unlinked file's
     * contents, a link remap): their own paths are not expected to exist.
     */
    static Set<Integer> remapped(org.jcriu.image.ImageDir dir) {
        Set<Integer> ids = new HashSet<>();
        try (var r = dir.openOptional(org.jcriu.image.ImageType.REMAP_FPATH)) {
            if (r == null) return ids;
            org.jcriu.image.proto.RemapFilePathEntry e;
            while ((e = r.read(org.jcriu.image.proto.RemapFilePathEntry.parser())) != null) ids.add(e.getOrigId());
        }
        return ids;
    }

    static void check(TaskImages img, Path root, Set<Integer> remapped) {
        Set<Integer> seen = new HashSet<>(remapped);
        for (Vma v : img.vmas()) {
            // a memfd mapping's object is made from the images, not found on disk
            if (v.fileBacked() && !v.is(Vma.MEMFD) && seen.add((int) v.shmid())) check(img.files().get((int) v.shmid()), v.toString(), root);
        }
        int exe = img.mm().getExeFileId();
        if (exe != 0 && seen.add(exe)) check(img.files().get(exe), "the executable", root);
        for (int id : new int[] {img.fs().getCwdId(), img.fs().getRootId()}) {
            if (img.files().get(id).getReg().hasMntId()) continue; // overmounted at dump: entered through its mount
            Path d = Path.of(path(img.files().get(id).getReg(), root));
            if (!Files.isDirectory(d)) {
                throw new CriuException("Directory " + d + " (the task's " + (id == img.fs().getCwdId() ? "cwd" : "root")
                        + ") does not exist on this machine");
            }
        }
    }

    private static void check(FileEntry fe, String what, Path root) {
        RegFileEntry f = fe.getReg();
        // its path was overmounted at dump: checked when opened through its mount (files/reg Overmounts)
        if (f.hasMntId()) return;
        Path p = Path.of(path(f, root));
        if (!Files.isRegularFile(p)) {
            throw new CriuException("File " + p + " (" + what + ") does not exist on this machine");
        }
        long size;
        try {
            size = Files.size(p);
        } catch (IOException e) {
            throw new CriuException("Can't stat " + p + " (" + what + "): " + e.getMessage(), e);
        }
        if (f.hasSize() && size != f.getSize()) {
            throw new CriuException(String.format("File %s (%s) has size %d, it was %d when dumped: not the same file",
                    p, what, size, f.getSize()));
        }
        if (f.getBuildIdCount() > 0) {
            byte[] want = words(f.getBuildIdList());
            byte[] have = buildId(p);
            if (have == null || !java.util.Arrays.equals(want, java.util.Arrays.copyOf(have, want.length))) {
                throw new CriuException(String.format("File %s (%s) has build-id %s, it was %s when dumped: not the same file",
                        p, what, have == null ? "none" : hex(have), hex(want)));
            }
        }
    }

    /** CRIU stores the build-id note as little-endian 32-bit words. */
    static byte[] words(List<Integer> w) {
        ByteBuffer b = ByteBuffer.allocate(w.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : w) b.putInt(x);
        return b.array();
    }

    /** The GNU build-id of an ELF file; null if none (shared with the dump side). */
    static byte[] buildId(Path p) {
        return org.jcriu.files.reg.BuildId.of(p);
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) sb.append(String.format("%02x", x));
        return sb.toString();
    }
}

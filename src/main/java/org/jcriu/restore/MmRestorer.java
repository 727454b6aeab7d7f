package org.jcriu.restore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.image.proto.MmEntry;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;

/**
 * prctl(PR_SET_MM, PR_SET_MM_MAP): code/data/brk/stack/arg/env boundaries, the saved auxv and the
 * exe link, in one call. It runs while the task maps nothing but the gadget and the vDSO (and, in
 * a child, the VMAs kept from its parent, which then has the same exe): the kernel refuses to
 * replace the exe file (EBUSY) while the old one is still mapped, and the seed's exe may well be
 * the very file the task maps again.
 */
final class MmRestorer {
    /** struct prctl_mm_map: 11 u64 boundaries, u64 auxv pointer, u32 auxv_size, u32 exe_fd. */
    static final int PRCTL_MM_MAP_SIZE = 104;

    private MmRestorer() {}

    static byte[] mmMap(MmEntry mm, long auxvAddr, int exeFd) {
        ByteBuffer b = ByteBuffer.allocate(PRCTL_MM_MAP_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(mm.getMmStartCode()).putLong(mm.getMmEndCode()).putLong(mm.getMmStartData()).putLong(mm.getMmEndData())
                .putLong(mm.getMmStartBrk()).putLong(mm.getMmBrk()).putLong(mm.getMmStartStack())
                .putLong(mm.getMmArgStart()).putLong(mm.getMmArgEnd()).putLong(mm.getMmEnvStart()).putLong(mm.getMmEnvEnd())
                .putLong(auxvAddr).putInt(mm.getMmSavedAuxvCount() * 8).putInt(exeFd);
        return b.array();
    }

    static void restore(Task task, TaskImages img, Path root) {
        restore(task, img, root, false);
    }

    /**
     * As {@link #restore(Task, TaskImages, Path)}; with {@code keepExe} the exe link the task
     * inherited from its restored parent stays (exe_fd -1): it is already the dumped file, and the
     * kernel would refuse to replace it while the child still maps it.
     */
    static void restore(Task task, TaskImages img, Path root, boolean keepExe) {
        MmEntry mm = img.mm();
        int exeFd = -1;
        String exe = null;
        if (mm.getExeFileId() != 0 && !keepExe) {
            exe = MappedFiles.path(img.files().get(mm.getExeFileId()).getReg(), root);
            exeFd = Remote.open(task, exe, Linux.O_RDONLY | Linux.O_CLOEXEC);
        }
        int auxvLen = mm.getMmSavedAuxvCount() * 8;
        try (Scratch s = task.scratch(PRCTL_MM_MAP_SIZE + auxvLen)) {
            ByteBuffer auxv = ByteBuffer.allocate(auxvLen).order(ByteOrder.LITTLE_ENDIAN);
            for (long w : mm.getMmSavedAuxvList()) auxv.putLong(w);
            long auxvAddr = s.put(PRCTL_MM_MAP_SIZE, auxv.array());
            long map = s.put(0, mmMap(mm, auxvAddr, exeFd));
            task.syscall(Nr.PRCTL, Linux.PR_SET_MM, Linux.PR_SET_MM_MAP, map, PRCTL_MM_MAP_SIZE, 0);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), String.format("prctl(PR_SET_MM_MAP) for task %d (exe %s, brk 0x%x-0x%x): %s",
                    task.tid(), exe, mm.getMmStartBrk(), mm.getMmBrk(), e.getMessage()), e);
        } finally {
            if (exeFd >= 0) Remote.close(task, exeFd);
        }
    }
}

package org.jcriu.restore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.SeccompEntry;
import org.jcriu.image.proto.SeccompFilter;
import org.jcriu.image.proto.SeccompMode;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Nr;

/**
 * seccomp filters, installed in each thread as its very last change before it runs: a filter
 * applies to the syscalls jcriu injects too, so everything else (including unmapping the gadget)
 * is done first. A thread's filters are installed oldest first, following seccomp.img's prev
 * links back from the thread's seccomp_filter; the restored credentials already allow it (the
 * task had no_new_privs or CAP_SYS_ADMIN when it installed them).
 */
final class SeccompRestorer {
    private static final int SECCOMP_SET_MODE_FILTER = 1;

    private final List<SeccompFilter> filters;
    private final ImageDir dir;

    private SeccompRestorer(List<SeccompFilter> filters, ImageDir dir) {
        this.filters = filters;
        this.dir = dir;
    }

    /** Reads seccomp.img (absent: no filters) and checks every thread's chain of every task before anything is created. */
    static SeccompRestorer load(ImageDir dir, List<TaskImages> tasks) {
        List<SeccompFilter> f = List.of();
        if (dir.exists(ImageType.SECCOMP)) {
            try (ImageReader r = dir.open(ImageType.SECCOMP)) {
                SeccompEntry e = r.read(SeccompEntry.parser());
                if (e != null) f = e.getSeccompFiltersList();
            }
        }
        SeccompRestorer s = new SeccompRestorer(f, dir);
        for (TaskImages img : tasks) {
            s.chain(img.core(), img.pid());
            for (var e : img.threads().entrySet()) s.chain(e.getValue(), e.getKey());
        }
        return s;
    }

    static boolean uses(CoreEntry core) {
        return core.getThreadCore().hasSeccompMode() && core.getThreadCore().getSeccompMode() != SeccompMode.disabled;
    }

    /** The thread's filters, oldest first. */
    private List<SeccompFilter> chain(CoreEntry core, int tid) {
        if (!uses(core)) return List.of();
        if (core.getThreadCore().getSeccompMode() != SeccompMode.filter) {
            throw new CriuException(dir.path(ImageType.CORE, tid) + ": thread " + tid + " is in seccomp mode "
                    + core.getThreadCore().getSeccompMode() + ": not supported");
        }
        List<SeccompFilter> out = new ArrayList<>();
        long idx = core.getThreadCore().getSeccompFilter();
        while (true) {
            if (idx < 0 || idx >= filters.size() || out.size() > filters.size()) {
                throw new CriuException(dir.path(ImageType.SECCOMP) + ": thread " + tid + " refers to seccomp filter " + idx
                        + ", which is not there (" + filters.size() + " filters)");
            }
            SeccompFilter f = filters.get((int) idx);
            if (f.getFilter().size() == 0 || f.getFilter().size() % 8 != 0) {
                throw new CriuException(dir.path(ImageType.SECCOMP) + ": seccomp filter " + idx + " has " + f.getFilter().size() + " bytes");
            }
            out.add(f);
            if (!f.hasPrev()) break;
            idx = f.getPrev();
        }
        Collections.reverse(out);
        return out;
    }

    /** Installs the thread's filters; runs with the gadget gone (injections come from the vDSO). */
    void install(Task t, CoreEntry core) {
        for (SeccompFilter f : chain(core, t.tid())) {
            byte[] prog = f.getFilter().toByteArray();
            try (Scratch s = t.scratch(16 + prog.length)) {
                ByteBuffer b = ByteBuffer.allocate(16 + prog.length).order(ByteOrder.LITTLE_ENDIAN);
                b.putShort(0, (short) (prog.length / 8)).putLong(8, s.addr() + 16).put(16, prog);
                s.put(0, b.array());
                t.syscall(Nr.SECCOMP, SECCOMP_SET_MODE_FILTER, f.getFlags() & 0xffffffffL, s.addr());
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), "Can't install a seccomp filter of " + prog.length / 8 + " instructions in thread "
                        + t.tid() + ": " + e.getMessage(), e);
            }
        }
    }
}

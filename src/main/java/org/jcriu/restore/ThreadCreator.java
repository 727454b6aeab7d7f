package org.jcriu.restore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;

/**
 * Creates the threads of a task besides its main one: an injected clone3 in the main thread, once
 * its memory is in place, with set_tid = [tid] and the flags of a pthread (shared memory, files,
 * fs, signal handlers, SysV undo list, same thread group). The main thread is traced with
 * PTRACE_O_TRACECLONE (inherited from the seed), so each new thread starts traced and stopped
 * before it runs a single instruction; its registers are then set to the dumped ones, and every
 * later injection into it runs from the vDSO with scratch space below its own stack, so that
 * nothing shared with the main thread (its gadget) is needed by it or unmapped by its detach.
 *
 * <p>What clone gives a CLONE_VM child and what the restore must set again: rseq and the robust
 * list are not inherited, the alternate signal stack is cleared, the clear-tid address is unset;
 * the signal mask, name, scheduling and credentials are copies of the main thread's.
 */
final class ThreadCreator {
    private static final Logger LOG = Log.get("restore");
    static final long FLAGS = Linux.CLONE_VM | Linux.CLONE_FS | Linux.CLONE_FILES | Linux.CLONE_SIGHAND
            | Linux.CLONE_THREAD | Linux.CLONE_SYSVSEM | Linux.CLONE_SETTLS;

    private ThreadCreator() {}

    /**
     * Clones every thread of {@code threads} (tid -> core image) from {@code main}, adding each to
     * {@code out} as soon as it exists, so that a failure half way leaves the caller all it must kill.
     */
    static void create(Task main, Map<Integer, CoreEntry> threads, List<Task> out) {
        for (Map.Entry<Integer, CoreEntry> e : threads.entrySet()) {
            int tid = e.getKey();
            CoreEntry core = e.getValue();
            long child;
            try (Scratch s = main.scratch(96)) {
                ByteBuffer b = ByteBuffer.allocate(96).order(ByteOrder.LITTLE_ENDIAN);
                b.putLong(0, FLAGS);                                              // flags
                b.putLong(32, 0);                                                  // exit_signal: none for a thread
                b.putLong(56, core.getThreadInfo().getGpregs().getFsBase());      // tls
                b.putLong(64, s.addr() + 88);                                     // set_tid
                b.putLong(72, 1);                                                 // set_tid_size
                b.putInt(88, tid);
                s.put(0, b.array());
                child = main.syscallRaw(Nr.CLONE3, s.addr(), Linux.CLONE_ARGS_SIZE_VER2);
            }
            main.newChildren().clear();
            if (child == -Errno.EEXIST) {
                throw new CriuException(Errno.EEXIST, "Can't create thread " + tid + " of task " + main.tid() + ": TID " + tid + " is in use");
            }
            if (child < 0) {
                throw new ErrnoException((int) -child, "clone3(CLONE_THREAD, set_tid=" + tid + ") in task " + main.tid());
            }
            if (child != tid) {
                out.add(Task.adopt(main.tracer(), (int) child)); // killed and reaped with the rest
                throw new CriuException("clone3(CLONE_THREAD, set_tid=" + tid + ") in task " + main.tid() + " created thread " + child);
            }
            Task t = Task.adopt(main.tracer(), tid);
            out.add(t);
            t.setRegs(Restorer.regs(core.getThreadInfo().getGpregs()));
        }
        if (!threads.isEmpty()) LOG.forPid(main.tid()).info("created %d threads of task %d", threads.size(), main.tid());
    }
}

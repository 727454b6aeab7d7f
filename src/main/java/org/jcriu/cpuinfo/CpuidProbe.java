package org.jcriu.cpuinfo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * This machine's CPU as CRIU sees it. CPUID is an instruction and jcriu runs no native code, so
 * a probe task ({@code sleep}, spawned and seized) gets a gadget page and executes {@code cpuid;
 * int3} there once per leaf (compel's {@link Task#cpuid}). CPUID answers the same in any
 * user-space task of the machine (OSXSAVE reflects the kernel's CR4), so this is what CRIU's
 * own cpuid instructions would return. The result is kept for the life of the JVM (a service
 * daemon answers many requests; the CPU does not change under it). About 10 ms.
 */
final class CpuidProbe {
    private static final Logger LOG = Log.get("cpu");
    private static X86Cpu cached;

    private CpuidProbe() {}

    static synchronized X86Cpu runtime() {
        if (cached == null) cached = X86Cpu.of(leaves());
        return cached;
    }

    /** Every leaf compel_cpuid() may ask, answered by one probe task, then served from a table. */
    private static X86Cpu.Cpuid leaves() {
        long t0 = System.nanoTime();
        Map<Long, int[]> answers = new HashMap<>();
        String sleep = Files.isExecutable(Path.of("/bin/sleep")) ? "/bin/sleep" : "/usr/bin/sleep";
        int pid = Sys.posixSpawn(sleep, List.of("jcriu-cpuid", "1000"), List.of(), new int[] {-1, -1, -1}, true);
        try (Tracer tracer = Tracer.start()) {
            tracer.run(() -> {
                Task t = Task.seize(tracer, pid);
                try {
                    // a free address: ask the kernel for one, give it back, map the gadget there
                    long a = t.syscall(Nr.MMAP, 0, Task.GADGET_SIZE, Linux.PROT_READ,
                            Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS, -1, 0);
                    t.syscall(Nr.MUNMAP, a, Task.GADGET_SIZE);
                    t.mapGadget(a);
                    X86Cpu.of((leaf, sub) -> answers.computeIfAbsent(key(leaf, sub), k -> t.cpuid(leaf, sub)));
                } finally {
                    t.kill();
                }
            });
        } finally {
            reap(pid);
        }
        LOG.debug("cpuid: %d leaves from probe task %d in %d us", answers.size(), pid, (System.nanoTime() - t0) / 1000);
        return (leaf, sub) -> {
            int[] r = answers.get(key(leaf, sub));
            if (r == null) throw new IllegalStateException(String.format("cpuid leaf 0x%x.%d was not probed", leaf, sub));
            return r;
        };
    }

    private static long key(int leaf, int sub) {
        return ((leaf & 0xffffffffL) << 32) | (sub & 0xffffffffL);
    }

    private static void reap(int pid) {
        try {
            Sys.kill(pid, Linux.SIGKILL);
            Sys.waitpid(pid, Linux.__WALL);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.ESRCH && e.errno() != Errno.ECHILD) throw e;
        } catch (CriuException e) {
            LOG.warn("cpuid probe task %d: %s", pid, e.getMessage());
        }
    }
}

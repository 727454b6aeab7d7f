package org.jcriu.sys.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The only place that links native code. Nearly everything goes through glibc's {@code syscall()}
 * with the raw kernel ABI (so {@code ptrace(PTRACE_PEEK*)} stores its word through {@code data}
 * as the kernel does, and no per-call glibc wrapper quirks leak in); only {@code posix_spawn},
 * which is a library routine rather than a syscall, and {@code strerror} are linked by name.
 *
 * <p>{@code syscall} is variadic: it must be linked with {@code firstVariadicArg(1)} or the
 * arguments land in the wrong registers. errno is captured per call with {@code captureCallState}
 * because the JVM may clobber it between the call and any later read.
 */
public final class Native {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ThreadLocal<MemorySegment> STATE = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    private static final MethodHandle SYSCALL = link("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    /**
     * Linked on first use: each downcall costs a generated stub (about 10 ms at start-up), and
     * most runs (swrk VERSION, crit) never spawn a process or format an errno.
     */
    private static final class Err {
        static final MethodHandle STRERROR = link("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    /** Apart from strerror: the first ErrnoException of a run (often an expected ENOENT) needs only that one. */
    private static final class Lazy {
        static final MethodHandle POSIX_SPAWN = link("posix_spawn",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        static final MethodHandle FA_INIT = link("posix_spawn_file_actions_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle FA_DUP2 = link("posix_spawn_file_actions_adddup2",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        static final MethodHandle FA_CLOSEFROM = link("posix_spawn_file_actions_addclosefrom_np",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        static final MethodHandle FA_DESTROY = link("posix_spawn_file_actions_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle ATTR_INIT = link("posix_spawnattr_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        static final MethodHandle ATTR_SETFLAGS = link("posix_spawnattr_setflags", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_SHORT));
        static final MethodHandle ATTR_SETSIGMASK = link("posix_spawnattr_setsigmask", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        static final MethodHandle ATTR_SETSIGDEFAULT = link("posix_spawnattr_setsigdefault", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        static final MethodHandle ATTR_DESTROY = link("posix_spawnattr_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));

    }

    // glibc x86_64: posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336; over-allocate.
    private static final long FA_SIZE = 256, ATTR_SIZE = 1024;
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08, POSIX_SPAWN_SETSID = 0x80;

    private Native() {}

    private static MethodHandle link(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment sym = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(sym, fd, options);
    }

    /** Raw syscall: the result, or {@code -errno} on failure (the kernel's own convention). */
    public static long syscall(long nr, long a, long b, long c, long d, long e, long f) {
        MemorySegment st = STATE.get();
        long r;
        try {
            r = (long) SYSCALL.invokeExact(st, nr, a, b, c, d, e, f);
        } catch (Throwable t) {
            throw new AssertionError("syscall downcall failed", t);
        }
        if (r == -1) {
            int errno = (int) ERRNO.get(st, 0L);
            if (errno != 0) return -errno;
        }
        return r;
    }

    /** Links posix_spawn and its helpers now (a warm-up thread's job: about 10 ms of stubs). */
    public static void linkSpawn() {
        MethodHandle unused = Lazy.POSIX_SPAWN;
    }

    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) Err.STRERROR.invokeExact(errno);
            return s.reinterpret(512).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    /**
     * posix_spawn with every fd >= 3 closed in the child, {@code stdio[i]} (a fd of ours, or -1 to
     * inherit) dup2-ed to i, signal mask emptied and dispositions reset to default.
     * Returns the pid, or {@code -error} (posix_spawn returns the error number, it does not set errno).
     */
    public static int posixSpawn(String path, List<String> argv, List<String> env, int[] stdio, boolean newSession) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment av = strings(a, argv);
            MemorySegment ev = strings(a, env);
            MemorySegment fa = a.allocate(FA_SIZE, 16);
            MemorySegment attr = a.allocate(ATTR_SIZE, 16);
            MemorySegment emptySet = a.allocate(128);
            MemorySegment fullSet = a.allocate(128);
            fullSet.fill((byte) 0xff);
            int rc = (int) Lazy.FA_INIT.invokeExact(fa);
            if (rc != 0) return -rc;
            try {
                for (int i = 0; stdio != null && i < stdio.length; i++) {
                    if (stdio[i] >= 0 && (rc = (int) Lazy.FA_DUP2.invokeExact(fa, stdio[i], i)) != 0) return -rc;
                }
                if ((rc = (int) Lazy.FA_CLOSEFROM.invokeExact(fa, 3)) != 0) return -rc;
                if ((rc = (int) Lazy.ATTR_INIT.invokeExact(attr)) != 0) return -rc;
                try {
                    short flags = (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (newSession ? POSIX_SPAWN_SETSID : 0));
                    if ((rc = (int) Lazy.ATTR_SETSIGMASK.invokeExact(attr, emptySet)) != 0) return -rc;
                    if ((rc = (int) Lazy.ATTR_SETSIGDEFAULT.invokeExact(attr, fullSet)) != 0) return -rc;
                    if ((rc = (int) Lazy.ATTR_SETFLAGS.invokeExact(attr, flags)) != 0) return -rc;
                    MemorySegment pid = a.allocate(JAVA_INT);
                    rc = (int) Lazy.POSIX_SPAWN.invokeExact(pid, a.allocateFrom(path), fa, attr, av, ev);
                    return rc != 0 ? -rc : pid.get(JAVA_INT, 0);
                } finally {
                    int ignored = (int) Lazy.ATTR_DESTROY.invokeExact(attr);
                }
            } finally {
                int ignored = (int) Lazy.FA_DESTROY.invokeExact(fa);
            }
        } catch (Throwable t) {
            throw new AssertionError("posix_spawn downcall failed", t);
        }
    }

    private static MemorySegment strings(Arena a, List<String> list) {
        MemorySegment arr = a.allocate(ADDRESS, list.size() + 1);
        for (int i = 0; i < list.size(); i++) arr.setAtIndex(ADDRESS, i, a.allocateFrom(list.get(i)));
        arr.setAtIndex(ADDRESS, list.size(), MemorySegment.NULL);
        return arr;
    }
}

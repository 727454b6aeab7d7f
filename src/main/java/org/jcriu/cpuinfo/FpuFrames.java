package org.jcriu.cpuinfo;

import java.nio.charset.StandardCharsets;

import org.jcriu.CriuException;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.UserX86FpregsEntry;
import org.jcriu.image.proto.UserX86XsaveEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.sys.Sys;

/**
 * The FPU frame of every thread against this CPU, before anything is restored: what CRIU checks
 * in valid_xsave_frame() and restore_fpu() whatever --cpu-cap says (arrays too short are a
 * corrupted image), plus its --cpu-cap=fpu rule (an XSAVE area on a host without XSAVE is refused,
 * and only warned about under other modes). A component the image holds that this CPU does not
 * enable is dropped on restore, as CRIU drops it; the warning names it.
 */
public final class FpuFrames {
    private static final Logger LOG = Log.get("cpu");
    /** Entries CRIU's xsave structures hold per component (its XSAVE_PB_NELEMS): name, expected count. */
    private static final String YMM = "XFEATURE_YMM", BNDREGS = "XFEATURE_BNDREGS", BNDCSR = "XFEATURE_BNDCSR",
            OPMASK = "XFEATURE_OPMASK", ZMM = "XFEATURE_ZMM_Hi256", HI16 = "XFEATURE_Hi16_ZMM", PKRU = "XFEATURE_PKRU";
    private static Boolean hostXsave;

    private FpuFrames() {}

    /** Checks thread {@code tid}'s core image ({@code file} names it in errors). */
    public static void check(int tid, CoreEntry core, int cpuCap, String file) {
        if (!core.hasThreadInfo() || !core.getThreadInfo().hasFpregs()) return;
        check(tid, core.getThreadInfo().getFpregs(), cpuCap, hostXsave(), xcr0(), file);
    }

    static void check(int tid, UserX86FpregsEntry f, int cpuCap, boolean xsaveHere, long xcr0, String file) {
        if (f.getStSpaceCount() < 32) {
            throw new CriuException(file + ": Corruption in FPU st_space area of thread " + tid + " (got " + f.getStSpaceCount()
                    + " but 32 expected)");
        }
        if (f.getXmmSpaceCount() < 64) {
            throw new CriuException(file + ": Corruption in FPU xmm_space area of thread " + tid + " (got " + f.getXmmSpaceCount()
                    + " but 64 expected)");
        }
        if (!f.hasXsave()) return;
        UserX86XsaveEntry x = f.getXsave();
        if (!xsaveHere) {
            if ((cpuCap & Options.CPU_CAP_FPU) != 0) {
                throw new CriuException(file + ": thread " + tid + " has an XSAVE area (AVX and later state), but this CPU or kernel"
                        + " does not use XSAVE (osxsave): restore with --cpu-cap=none to drop it (--cpu-cap=fpu)");
            }
            LOG.warn("FPU is about to restore ignoring xsave state of thread %d!", tid);
            return;
        }
        length(tid, file, YMM, x.getYmmhSpaceCount(), 64);
        length(tid, file, BNDREGS, x.getBndregStateCount(), 8);
        length(tid, file, BNDCSR, x.getBndcsrStateCount(), 8);
        length(tid, file, OPMASK, x.getOpmaskRegCount(), 8);
        length(tid, file, ZMM, x.getZmmUpperCount(), 64);
        length(tid, file, HI16, x.getHi16ZmmCount(), 128);
        length(tid, file, PKRU, x.getPkruCount(), 2);
        long dropped = x.getXstateBv() & ~xcr0 & ~3L;
        if (xcr0 != 0 && dropped != 0) {
            LOG.warn("thread %d: this CPU does not enable %s: that part of its FPU state is dropped (xstate_bv 0x%x, xcr0 0x%x)",
                    tid, X86Caps.xfeatureNames(dropped), x.getXstateBv(), xcr0);
        }
    }

    /** An empty array is a component the image does not have; a short one is corruption. */
    private static void length(int tid, String file, String name, int got, int expected) {
        if (got > 0 && got < expected) {
            throw new CriuException(file + ": Corruption in " + name + " area of thread " + tid + " (expected " + expected + " but "
                    + got + " obtained)");
        }
    }

    /**
     * Whether the kernel saves FPU state with XSAVE (CR4.OSXSAVE): it keeps the {@code xsave}
     * flag in /proc/cpuinfo exactly when it does (booted with noxsave, the flag is cleared).
     */
    private static synchronized boolean hostXsave() {
        if (hostXsave == null) hostXsave = flags().contains(" xsave ");
        return hostXsave;
    }

    private static String flags() {
        for (String l : new String(Sys.readFile("/proc/cpuinfo"), StandardCharsets.US_ASCII).split("\n")) {
            if (l.startsWith("flags")) return " " + l.substring(l.indexOf(':') + 1).trim() + " ";
        }
        return " ";
    }

    /** The user XSAVE components the kernel enables, from its flags: enough to name what a warning drops. */
    private static long xcr0() {
        String f = flags();
        long m = 3;
        if (f.contains(" avx ")) m |= 1L << 2;
        if (f.contains(" mpx ")) m |= 3L << 3;
        if (f.contains(" avx512f ")) m |= 7L << 5;
        if (f.contains(" ospke ")) m |= 1L << 9;
        return m;
    }
}

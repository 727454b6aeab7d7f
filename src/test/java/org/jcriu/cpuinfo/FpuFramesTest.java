package org.jcriu.cpuinfo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import org.jcriu.CriuException;
import org.jcriu.image.proto.UserX86FpregsEntry;
import org.jcriu.image.proto.UserX86XsaveEntry;
import org.jcriu.opts.Options;

/** valid_xsave_frame()'s rules, including the host without XSAVE that this machine cannot be. */
class FpuFramesTest {
    private static UserX86FpregsEntry.Builder legacy(int st, int xmm) {
        UserX86FpregsEntry.Builder f = UserX86FpregsEntry.newBuilder().setCwd(0x37f).setSwd(0).setTwd(0).setFop(0).setRip(0)
                .setRdp(0).setMxcsr(0x1f80).setMxcsrMask(0xffff);
        for (int i = 0; i < st; i++) f.addStSpace(0);
        for (int i = 0; i < xmm; i++) f.addXmmSpace(0);
        return f;
    }

    private static UserX86FpregsEntry withAvx(int ymm) {
        UserX86XsaveEntry.Builder x = UserX86XsaveEntry.newBuilder().setXstateBv(7);
        for (int i = 0; i < ymm; i++) x.addYmmhSpace(i);
        return legacy(32, 64).setXsave(x).build();
    }

    @Test
    void shortLegacyAreasAreCorruptionWhateverTheMode() {
        CriuException e = assertThrows(CriuException.class,
                () -> FpuFrames.check(7, legacy(31, 64).build(), Options.CPU_CAP_NONE, true, 7, "core-7.img"));
        assertEquals("core-7.img: Corruption in FPU st_space area of thread 7 (got 31 but 32 expected)", e.getMessage());
        e = assertThrows(CriuException.class, () -> FpuFrames.check(7, legacy(32, 10).build(), Options.CPU_CAP_NONE, true, 7, "c"));
        assertTrue(e.getMessage().contains("xmm_space area of thread 7 (got 10 but 64 expected)"), e.getMessage());
    }

    @Test
    void anXsaveAreaOnAHostWithoutXsaveIsRefusedUnderFpuOnly() {
        CriuException e = assertThrows(CriuException.class,
                () -> FpuFrames.check(9, withAvx(64), Options.CPU_CAP_DEFAULT, false, 3, "core-9.img"));
        assertTrue(e.getMessage().startsWith("core-9.img: thread 9 has an XSAVE area"), e.getMessage());
        assertTrue(e.getMessage().contains("osxsave") && e.getMessage().endsWith("(--cpu-cap=fpu)"), e.getMessage());
        FpuFrames.check(9, withAvx(64), Options.CPU_CAP_INS, false, 3, "core-9.img");
    }

    @Test
    void componentsMustHaveTheirFullLengthWhenPresent() {
        FpuFrames.check(1, withAvx(64), Options.CPU_CAP_DEFAULT, true, 7, "c");
        FpuFrames.check(1, withAvx(0), Options.CPU_CAP_DEFAULT, true, 7, "c");
        CriuException e = assertThrows(CriuException.class, () -> FpuFrames.check(1, withAvx(63), Options.CPU_CAP_NONE, true, 7, "c"));
        assertEquals("c: Corruption in XFEATURE_YMM area of thread 1 (expected 64 but 63 obtained)", e.getMessage());
        // a component this host does not enable is dropped with a warning, not refused (as criu)
        FpuFrames.check(1, withAvx(64), Options.CPU_CAP_DEFAULT, true, 3, "c");
    }
}

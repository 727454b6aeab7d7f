package org.jcriu.cpuinfo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import org.jcriu.CriuException;
import org.jcriu.image.proto.CpuinfoEntry;
import org.jcriu.image.proto.CpuinfoX86Entry;
import org.jcriu.opts.Options;

/**
 * compel_cpuid()'s rules on CPUID tables of known CPUs (the register values are those of real
 * parts as their vendors document them), and CRIU's checks on the result.
 */
class X86CpuTest {
    /** CPUID answers by leaf and sub-leaf; unknown leaves answer zeros, as CPUs do above their maximum. */
    static X86Cpu.Cpuid table(Map<String, int[]> t) {
        return (leaf, sub) -> t.getOrDefault(Integer.toHexString(leaf) + "." + sub, new int[4]);
    }

    static Map<String, int[]> amdZen4() {
        Map<String, int[]> t = new HashMap<>();
        t.put("0.0", new int[] {16, 1752462657, 1145913699, 1769238117});          // AuthenticAMD
        t.put("1.0", new int[] {11538209, 16910336, 0xfffa3203, 0x9789fbff | 0x80000000});
        t.put("6.0", new int[] {4, 0, 0, 0});
        t.put("7.0", new int[] {1, 0xf1bf03ab, 406937566, 0x9c000010});
        t.put("d.0", new int[] {0x2e7, 2440, 2440, 0});
        t.put("d.1", new int[] {15, 2480, 6144, 0});
        t.put("80000000.0", new int[] {0x80000022, 0, 0, 0});
        t.put("80000001.0", new int[] {11538209, 0x40000000, 4195315, 802421759});
        t.put("80000002.0", new int[] {0x20444d41, 0x43595045, 0x20202020, 0x20202020}); // "AMD EPYC", blanks
        t.put("80000003.0", new int[] {0x20202020, 0x20202020, 0x20202020, 0x20202020});
        t.put("80000004.0", new int[] {0x20202020, 0x20202020, 0x20202020, 0x00202020});
        t.put("80000008.0", new int[] {3422516, 1393218053, 28673, 0});
        return t;
    }

    static Map<String, int[]> intelSkylake() {
        Map<String, int[]> t = new HashMap<>();
        t.put("0.0", new int[] {0x16, 0x756e6547, 0x6c65746e, 0x49656e69});           // GenuineIntel
        t.put("1.0", new int[] {0x000506e3, 0, 0x7ffafbbf, 0xbfebfbff});
        t.put("7.0", new int[] {0, 0x029c6fbf, 0, 0x9c002400});
        t.put("d.0", new int[] {0x1f, 0x440, 0x440, 0});
        t.put("d.1", new int[] {0xf, 0, 0, 0});
        t.put("80000000.0", new int[] {0x80000008, 0, 0, 0});
        t.put("80000001.0", new int[] {0, 0, 0x121, 0x2c100800});
        // "       Intel(R) Core..." right-justified as Intel does
        t.put("80000002.0", new int[] {0x20202020, 0x20202020, 0x6e492020, 0x286c6574});
        t.put("80000003.0", new int[] {0x43202952, 0x0065726f, 0, 0});
        return t;
    }

    @Test
    void amdFamilyModelAndLinuxBitsAsCompelSetsThem() {
        X86Cpu c = X86Cpu.of(table(amdZen4()));
        assertEquals("AuthenticAMD", c.vendorId());
        assertEquals(X86Cpu.VENDOR_AMD, c.vendor());
        assertEquals(26, c.family());   // 0xf + extended family 0xb
        assertEquals(2, c.model());
        assertEquals(1, c.stepping());
        assertEquals("AMD EPYC" + " ".repeat(39), c.modelId(), "trailing blanks stay, as in CRIU");
        // leaf 1 EDX bit 31 is dropped on AMD; rep_good (family >= 0x10), nopl and cpuid are set
        assertFalse(X86Caps.has(c.caps(), 31));
        assertEquals(0x02110000, c.caps()[X86Caps.W_LNX_1]);
        assertEquals(0xf1bf03ab, c.caps()[X86Caps.W_7_0_EBX]);
        assertEquals(15, c.caps()[X86Caps.W_D_1_EAX]);
        // CRIU's supervisor mask also clears SSE and MPX bounds: 0x2e7 -> 0x2e5
        assertEquals(0x2e5, c.xfeaturesMask());
        assertEquals(2440, c.xsaveSize());
        assertEquals(2440, c.xsaveSizeMax());
    }

    @Test
    void intelBrandLosesItsLeadingBlanksAndFamily6GetsRepGood() {
        X86Cpu c = X86Cpu.of(table(intelSkylake()));
        assertEquals(X86Cpu.VENDOR_INTEL, c.vendor());
        assertEquals(6, c.family());
        assertEquals(0x5e, c.model());
        assertEquals(3, c.stepping());
        assertEquals("Intel(R) Core", c.modelId());
        assertTrue(X86Caps.has(c.caps(), X86Caps.REP_GOOD));
        assertTrue(X86Caps.has(c.caps(), 31), "bit 31 (pbe) stays on Intel");
        // mpx (7.0 EBX bit 14) is set: the MPX components stay, except bounds registers (CRIU's mask)
        assertEquals(0x15, c.xfeaturesMask());
    }

    @Test
    void unknownVendorIsRefusedByName() {
        Map<String, int[]> t = amdZen4();
        t.put("0.0", new int[] {16, 0x746e6543, 0x736c7561, 0x48727561}); // CentaurHauls
        CriuException e = assertThrows(CriuException.class, () -> X86Cpu.of(table(t)));
        assertTrue(e.getMessage().contains("CentaurHauls"), e.getMessage());
    }

    @Test
    void entryRoundTripsAndMatchesItself() {
        X86Cpu c = X86Cpu.of(table(amdZen4()));
        CpuinfoEntry e = c.toEntry();
        X86Cpu back = X86Cpu.fromImage(e, c, "cpuinfo.img");
        assertEquals(c.toEntry(), back.toEntry());
        CpuCheck.validate(back, c, Options.CPU_CAP_ALL, "cpuinfo.img");
    }

    @Test
    void aMissingInstructionIsNamedUnderInsAndIgnoredUnderFpu() {
        X86Cpu rt = X86Cpu.of(table(amdZen4()));
        int[] caps = rt.caps().clone();
        X86Caps.set(caps, X86Caps.bit("avx512_4fmaps"), true);
        X86Caps.set(caps, X86Caps.bit("xop"), true);
        X86Cpu img = withCaps(rt, caps);
        CriuException e = assertThrows(CriuException.class, () -> CpuCheck.validate(img, rt, Options.CPU_CAP_INS, "d/cpuinfo.img"));
        assertEquals("d/cpuinfo.img: CPU instruction capabilities do not match run time: this CPU lacks xop, avx512_4fmaps"
                + " (--cpu-cap=ins)", e.getMessage());
        CpuCheck.validate(img, rt, Options.CPU_CAP_FPU, "d/cpuinfo.img");
        CpuCheck.validate(img, rt, Options.CPU_CAP_NONE, "d/cpuinfo.img");
        e = assertThrows(CriuException.class, () -> CpuCheck.validate(img, rt, Options.CPU_CAP_CPU, "d/cpuinfo.img"));
        assertTrue(e.getMessage().contains("CPU capabilities do not match run time: this CPU lacks xop, avx512_4fmaps"), e.getMessage());
    }

    @Test
    void aBitOutsideTheInstructionMaskOnlyFailsTheStrictMode() {
        X86Cpu rt = X86Cpu.of(table(amdZen4()));
        int[] caps = rt.caps().clone();
        X86Caps.set(caps, X86Caps.bit("hypervisor"), !X86Caps.has(caps, X86Caps.bit("hypervisor")));
        X86Cpu img = withCaps(rt, caps);
        CpuCheck.validate(img, rt, Options.CPU_CAP_FPU | Options.CPU_CAP_INS, "cpuinfo.img");
        CriuException e = assertThrows(CriuException.class, () -> CpuCheck.validate(img, rt, Options.CPU_CAP_CPU, "cpuinfo.img"));
        assertTrue(e.getMessage().contains("hypervisor"), e.getMessage());
    }

    @Test
    void fpuModeNamesXsaveFeaturesAndComponents() {
        X86Cpu rt = X86Cpu.of(table(amdZen4()));
        int[] caps = rt.caps().clone();
        X86Caps.set(caps, X86Caps.bit("osxsave"), true);
        X86Cpu noOsxsave = withCaps(rt, rtCapsWithout(rt, "osxsave"));
        CriuException e = assertThrows(CriuException.class,
                () -> CpuCheck.validate(withCaps(rt, caps), noOsxsave, Options.CPU_CAP_FPU, "cpuinfo.img"));
        assertTrue(e.getMessage().contains("FPU feature required by image is not supported on this CPU: osxsave"), e.getMessage());

        X86Cpu amx = new X86Cpu(rt.vendorId(), rt.vendor(), rt.family(), rt.model(), rt.stepping(), rt.caps(), rt.modelId(),
                rt.xfeaturesMask() | (1L << 17), rt.xsaveSize(), rt.xsaveSizeMax(), 2);
        e = assertThrows(CriuException.class, () -> CpuCheck.validate(amx, rt, Options.CPU_CAP_FPU, "cpuinfo.img"));
        assertTrue(e.getMessage().contains("CPU xfeatures has unsupported bits (0x20000): xstate component 17"), e.getMessage());

        X86Cpu bigger = new X86Cpu(rt.vendorId(), rt.vendor(), rt.family(), rt.model(), rt.stepping(), rt.caps(), rt.modelId(),
                rt.xfeaturesMask(), 2696, rt.xsaveSizeMax(), 2);
        e = assertThrows(CriuException.class, () -> CpuCheck.validate(bigger, rt, Options.CPU_CAP_FPU, "cpuinfo.img"));
        assertTrue(e.getMessage().contains("CPU xsave size mismatch (image 2696, this CPU 2440)"), e.getMessage());
        CpuCheck.validate(bigger, rt, Options.CPU_CAP_INS, "cpuinfo.img");
    }

    @Test
    void versionOneImagesAreCompletedFromThisCpu() {
        X86Cpu rt = X86Cpu.of(table(amdZen4()));
        CpuinfoX86Entry.Builder x = rt.toEntry().getX86Entry(0).toBuilder().setCapabilityVer(1).clearCapability()
                .clearXfeaturesMask().clearXsaveSize().clearXsaveSizeMax();
        for (int i = 0; i < X86Caps.NCAPINTS_V1; i++) x.addCapability(rt.caps()[i]);
        X86Cpu img = X86Cpu.fromImage(CpuinfoEntry.newBuilder().addX86Entry(x).build(), rt, "cpuinfo.img");
        CpuCheck.validate(img, rt, Options.CPU_CAP_ALL, "cpuinfo.img");

        x.addCapability(0);
        CriuException e = assertThrows(CriuException.class,
                () -> X86Cpu.fromImage(CpuinfoEntry.newBuilder().addX86Entry(x).build(), rt, "cpuinfo.img"));
        assertEquals("cpuinfo.img: Image carries 13 words while 12 expected", e.getMessage());
        e = assertThrows(CriuException.class, () -> X86Cpu.fromImage(CpuinfoEntry.getDefaultInstance(), rt, "cpuinfo.img"));
        assertTrue(e.getMessage().contains("n_x86_entry = 0"), e.getMessage());
    }

    @Test
    void featureNamesFallBackToTheirCpuidRegister() {
        assertEquals("avx2", X86Caps.name(X86Caps.bit("avx2")));
        assertEquals("CPUID 0x80000001 EDX bit 0", X86Caps.name(32));
        assertEquals("osxsave", X86Caps.name(4 * 32 + 27));
    }

    private static X86Cpu withCaps(X86Cpu c, int[] caps) {
        return new X86Cpu(c.vendorId(), c.vendor(), c.family(), c.model(), c.stepping(), caps, c.modelId(), c.xfeaturesMask(),
                c.xsaveSize(), c.xsaveSizeMax(), 2);
    }

    private static int[] rtCapsWithout(X86Cpu c, String name) {
        int[] caps = c.caps().clone();
        X86Caps.set(caps, X86Caps.bit(name), false);
        return caps;
    }
}

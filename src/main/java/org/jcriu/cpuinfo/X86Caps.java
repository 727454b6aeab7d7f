package org.jcriu.cpuinfo;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The capability words of cpuinfo.img ({@code capability[]}, CRIU's x86_capability): which CPUID
 * register each word holds, the names of its bits (the kernel's /proc/cpuinfo names where it has
 * one), and the sets CRIU's checks look at. The word layout is part of the image format (CRIU
 * keeps it stable across versions), so it is fixed here, not derived from the running kernel.
 */
final class X86Caps {
    /** Words of capability version 2 (version 1 images have the first 12). */
    static final int NCAPINTS = 19, NCAPINTS_V1 = 12;

    static final int W_1_EDX = 0, W_8000_0001_EDX = 1, W_8086_0001_EDX = 2, W_LNX_1 = 3, W_1_ECX = 4,
            W_C000_0001_EDX = 5, W_8000_0001_ECX = 6, W_LNX_2 = 7, W_LNX_3 = 8, W_7_0_EBX = 9, W_D_1_EAX = 10,
            W_7_0_ECX = 11, W_F_1_EDX = 12, W_8000_0008_EBX = 13, W_6_EAX = 14, W_8000_000A_EDX = 15,
            W_F_0_EDX = 16, W_8000_0007_EBX = 17, W_7_0_EDX = 18;

    /** Where each word comes from, for bits that have no name. */
    private static final String[] SOURCE = {
        "CPUID 1 EDX", "CPUID 0x80000001 EDX", "CPUID 0x80860001 EDX", "Linux word 3", "CPUID 1 ECX",
        "CPUID 0xc0000001 EDX", "CPUID 0x80000001 ECX", "Linux word 7", "Linux word 8", "CPUID 7.0 EBX",
        "CPUID 0xd.1 EAX", "CPUID 7.0 ECX", "CPUID 0xf.1 EDX", "CPUID 0x80000008 EBX", "CPUID 6 EAX",
        "CPUID 0x8000000a EDX", "CPUID 0xf.0 EDX", "CPUID 0x80000007 EBX", "CPUID 7.0 EDX",
    };

    private static final String[][] NAMES = new String[NCAPINTS][32];
    private static final Map<String, Integer> BITS = new HashMap<>();

    static {
        names(W_1_EDX, "fpu vme de pse tsc msr pae mce cx8 apic - sep mtrr pge mca cmov pat pse36 pn clflush - dts acpi mmx"
                + " fxsr sse sse2 ss ht tm ia64 pbe");
        at(W_8000_0001_EDX, 11, "syscall");
        at(W_8000_0001_EDX, 19, "mp");
        at(W_8000_0001_EDX, 20, "nx");
        at(W_8000_0001_EDX, 22, "mmxext");
        at(W_8000_0001_EDX, 25, "fxsr_opt");
        at(W_8000_0001_EDX, 26, "pdpe1gb");
        at(W_8000_0001_EDX, 27, "rdtscp");
        at(W_8000_0001_EDX, 29, "lm");
        at(W_8000_0001_EDX, 30, "3dnowext");
        at(W_8000_0001_EDX, 31, "3dnow");
        // word 3 is Linux's own: the few bits CRIU sets from vendor and family
        at(W_LNX_1, 16, "rep_good");
        at(W_LNX_1, 20, "nopl");
        at(W_LNX_1, 25, "cpuid");
        names(W_1_ECX, "pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 cid sdbg fma cx16 xtpr pdcm - pcid dca"
                + " sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave osxsave avx f16c rdrand hypervisor");
        names(W_8000_0001_ECX, "lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw ibs xop"
                + " skinit wdt - lwp fma4 tce - nodeid_msr - tbm topoext perfctr_core perfctr_nb - bpext ptsc perfctr_llc mwaitx");
        names(W_7_0_EBX, "fsgsbase tsc_adjust sgx bmi1 hle avx2 fdp_excptn_only smep bmi2 erms invpcid rtm cqm zero_fcs_fds mpx"
                + " rdt_a avx512f avx512dq rdseed adx smap avx512ifma pcommit clflushopt clwb intel_pt avx512pf avx512er"
                + " avx512cd sha_ni avx512bw avx512vl");
        names(W_D_1_EAX, "xsaveopt xsavec xgetbv1 xsaves xfd");
        names(W_7_0_ECX, "prefetchwt1 avx512vbmi umip pku ospke waitpkg avx512_vbmi2 shstk gfni vaes vpclmulqdq avx512_vnni"
                + " avx512_bitalg tme avx512_vpopcntdq - la57 - - - - - rdpid - bus_lock_detect cldemote - movdiri movdir64b"
                + " enqcmd sgx_lc");
        names(W_F_1_EDX, "cqm_occup_llc cqm_mbm_total cqm_mbm_local");
        at(W_8000_0008_EBX, 0, "clzero");
        at(W_8000_0008_EBX, 1, "irperf");
        at(W_8000_0008_EBX, 2, "xsaveerptr");
        at(W_8000_0008_EBX, 9, "wbnoinvd");
        at(W_8000_0008_EBX, 12, "amd_ibpb");
        at(W_8000_0008_EBX, 14, "amd_ibrs");
        at(W_8000_0008_EBX, 15, "amd_stibp");
        names(W_6_EAX, "dtherm ida arat - pln - pts hwp hwp_notify hwp_act_window hwp_epp hwp_pkg_req - hdc");
        names(W_8000_000A_EDX, "npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists - - pausefilter"
                + " - pfthreshold avic - v_vmsave_vmload vgif");
        at(W_F_0_EDX, 1, "cqm_llc");
        names(W_8000_0007_EBX, "overflow_recov succor - smca");
        at(W_7_0_EDX, 2, "avx512_4vnniw");
        at(W_7_0_EDX, 3, "avx512_4fmaps");
        at(W_7_0_EDX, 4, "fsrm");
        at(W_7_0_EDX, 8, "avx512_vp2intersect");
        at(W_7_0_EDX, 10, "md_clear");
        at(W_7_0_EDX, 14, "serialize");
        at(W_7_0_EDX, 16, "tsxldtrk");
        at(W_7_0_EDX, 18, "pconfig");
        at(W_7_0_EDX, 19, "arch_lbr");
        at(W_7_0_EDX, 20, "ibt");
        at(W_7_0_EDX, 22, "amx_bf16");
        at(W_7_0_EDX, 23, "avx512_fp16");
        at(W_7_0_EDX, 24, "amx_tile");
        at(W_7_0_EDX, 25, "amx_int8");
        at(W_7_0_EDX, 26, "spec_ctrl");
        at(W_7_0_EDX, 27, "intel_stibp");
        at(W_7_0_EDX, 28, "flush_l1d");
        at(W_7_0_EDX, 29, "arch_capabilities");
        at(W_7_0_EDX, 30, "core_capabilities");
        at(W_7_0_EDX, 31, "spec_ctrl_ssbd");
    }

    static final int FPU = bit("fpu"), FXSR = bit("fxsr"), XSAVE = bit("xsave"), OSXSAVE = bit("osxsave"),
            XSAVES = bit("xsaves"), CQM_LLC = bit("cqm_llc"), REP_GOOD = bit("rep_good"), NOPL = bit("nopl"),
            CPUID = bit("cpuid"), ERMS = bit("erms");

    /** The bits an FPU check compares (CRIU's --cpu-cap=fpu): the image may not need one this CPU lacks. */
    static final int[] FPU_BITS = {FPU, FXSR, OSXSAVE, XSAVES};

    /**
     * Instruction-set bits (CRIU's x86_ins_capability_mask, --cpu-cap=ins): the facts of which
     * bits CRIU compares, by name. A bit set in the image must be set on this CPU.
     */
    static final int[] INS_MASK = mask(
            "fpu tsc cx8 sep cmov clflush mmx fxsr sse sse2",
            "syscall mmxext rdtscp 3dnowext 3dnow",
            "rep_good nopl",
            "pni pclmulqdq monitor ssse3 cx16 sse4_1 sse4_2 movbe popcnt aes xsave osxsave avx f16c rdrand",
            "abm sse4a misalignsse 3dnowprefetch xop fma4 tbm",
            "fsgsbase bmi1 hle avx2 bmi2 erms rtm mpx avx512f avx512dq rdseed adx clflushopt avx512pf avx512er avx512cd"
                    + " sha_ni avx512bw avx512vl",
            "xsaveopt xsavec xgetbv1",
            "avx512vbmi avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg tme avx512_vpopcntdq rdpid",
            "clzero",
            "avx512_4vnniw avx512_4fmaps");

    /** XSAVE state components, by bit of xfeatures_mask / XCR0. */
    private static final String[] XFEATURES = {
        "x87", "SSE", "AVX", "MPX bounds registers", "MPX CSR", "AVX-512 opmask", "AVX-512 ZMM_Hi256",
        "AVX-512 Hi16_ZMM", "Processor Trace", "PKRU", "HDC",
    };

    private X86Caps() {}

    private static void names(int word, String spaced) {
        String[] n = spaced.split(" ");
        for (int i = 0; i < n.length; i++) if (!n[i].equals("-")) at(word, i, n[i]);
    }

    private static void at(int word, int bit, String name) {
        NAMES[word][bit] = name;
        BITS.put(name, word * 32 + bit);
    }

    static int bit(String name) {
        Integer b = BITS.get(name);
        if (b == null) throw new IllegalArgumentException("no x86 feature " + name);
        return b;
    }

    private static int[] mask(String... groups) {
        int[] m = new int[NCAPINTS];
        for (String g : groups) for (String n : g.split(" ")) {
            int b = bit(n);
            m[b / 32] |= 1 << (b % 32);
        }
        return m;
    }

    /** The feature's name, or where its bit comes from when the kernel has no name for it. */
    static String name(int bit) {
        int w = bit / 32, b = bit % 32;
        String n = w < NCAPINTS ? NAMES[w][b] : null;
        return n != null ? n : (w < NCAPINTS ? SOURCE[w] : "word " + w) + " bit " + b;
    }

    static boolean has(int[] caps, int bit) {
        return (caps[bit / 32] & (1 << (bit % 32))) != 0;
    }

    static void set(int[] caps, int bit, boolean on) {
        if (on) caps[bit / 32] |= 1 << (bit % 32);
        else caps[bit / 32] &= ~(1 << (bit % 32));
    }

    /** Names of the bits set in {@code words} (word i holds bits i*32..i*32+31). */
    static List<String> names(int[] words) {
        List<String> out = new ArrayList<>();
        for (int w = 0; w < words.length; w++) {
            for (int b = 0; b < 32; b++) if ((words[w] & (1 << b)) != 0) out.add(name(w * 32 + b));
        }
        return out;
    }

    static String xfeatureNames(long mask) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 64; i++) {
            if ((mask & (1L << i)) == 0) continue;
            if (!s.isEmpty()) s.append(", ");
            s.append(i < XFEATURES.length ? XFEATURES[i] : "xstate component " + i);
        }
        return s.toString();
    }
}

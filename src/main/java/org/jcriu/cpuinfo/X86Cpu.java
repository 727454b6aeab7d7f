package org.jcriu.cpuinfo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import org.jcriu.CriuException;
import org.jcriu.image.proto.CpuinfoEntry;
import org.jcriu.image.proto.CpuinfoX86Entry;

/**
 * One CPU as cpuinfo.img describes it (CRIU's compel_cpuinfo_t, the part that is saved), and how
 * CRIU 4.2 fills it from CPUID ({@link #of(Cpuid)}): raw CPUID registers in the capability words,
 * a few Linux-defined bits set from vendor and family, the XSAVE features from leaf 0xD. Doing
 * exactly what compel_cpuid() does is what makes our cpuinfo.img equal to CRIU's on the same CPU.
 */
record X86Cpu(String vendorId, int vendor, int family, int model, int stepping, int[] caps, String modelId,
        long xfeaturesMask, int xsaveSize, int xsaveSizeMax, int capabilityVer) {

    /** The CPUID instruction: {eax, ebx, ecx, edx} for a leaf and sub-leaf. */
    @FunctionalInterface
    interface Cpuid {
        int[] query(int leaf, int subleaf);
    }

    /** XSAVE components CRIU keeps: its XFEATURE_MASK_USER. */
    private static final long XFEATURE_MASK_USER = 0x2ffL;
    /**
     * CRIU's XFEATURE_MASK_SUPERVISOR is {@code (1 << XFEATURE_PT) | XFEATURE_HDC}: the HDC term is
     * the enum value 10, not a mask, so the bits cleared are PT, SSE and MPX bounds. What CRIU
     * writes is the fact we must match, so the same bits are cleared here.
     */
    private static final long XFEATURE_MASK_SUPERVISOR_AS_CRIU = (1L << 8) | 10L;
    /** The cpuid feature each XSAVE component needs (component i is dropped when its bit is clear). */
    private static final int[] XSAVE_CPUID_FEATURES = {
        X86Caps.FPU, X86Caps.bit("sse"), X86Caps.bit("avx"), X86Caps.bit("mpx"), X86Caps.bit("mpx"),
        X86Caps.bit("avx512f"), X86Caps.bit("avx512f"), X86Caps.bit("avx512f"), X86Caps.bit("intel_pt"),
        X86Caps.bit("pku"), X86Caps.bit("hdc"),
    };

    /** cpuinfo_x86_entry.vendor values. */
    static final int VENDOR_INTEL = CpuinfoX86Entry.Vendor.INTEL_VALUE, VENDOR_AMD = CpuinfoX86Entry.Vendor.AMD_VALUE;

    /** Fills the fields as compel_cpuid() and compel_fpuid() do. */
    static X86Cpu of(Cpuid cpuid) {
        int[] r = cpuid.query(0, 0);
        int level = r[0];
        String vendorId = ascii(r[1], r[3], r[2]);
        int vendor = switch (vendorId) {
            case "GenuineIntel" -> VENDOR_INTEL;
            case "AuthenticAMD", "HygonGenuine" -> VENDOR_AMD;
            default -> throw new CriuException("Unsupported CPU vendor " + vendorId + " (cpuinfo.img knows Intel and AMD only)");
        };
        int[] caps = new int[X86Caps.NCAPINTS];
        int family = 4, model = 0, stepping = 0;
        if (level >= 1) {
            r = cpuid.query(1, 0);
            family = (r[0] >>> 8) & 0xf;
            model = (r[0] >>> 4) & 0xf;
            stepping = r[0] & 0xf;
            if (family == 0xf) family += (r[0] >>> 20) & 0xff;
            if (family >= 6) model += ((r[0] >>> 16) & 0xf) << 4;
            caps[X86Caps.W_1_EDX] = r[3];
            caps[X86Caps.W_1_ECX] = r[2];
        }
        if (level >= 6) caps[X86Caps.W_6_EAX] = cpuid.query(6, 0)[0];
        if (level >= 7) {
            r = cpuid.query(7, 0);
            caps[X86Caps.W_7_0_EBX] = r[1];
            caps[X86Caps.W_7_0_ECX] = r[2];
            caps[X86Caps.W_7_0_EDX] = r[3];
        }
        if (level >= 0xd) caps[X86Caps.W_D_1_EAX] = cpuid.query(0xd, 1)[0];
        if (level >= 0xf) {
            caps[X86Caps.W_F_0_EDX] = cpuid.query(0xf, 0)[3];
            if (X86Caps.has(caps, X86Caps.CQM_LLC)) caps[X86Caps.W_F_1_EDX] = cpuid.query(0xf, 1)[3];
        }
        int ext = cpuid.query(0x80000000, 0)[0];
        if ((ext & 0xffff0000) == 0x80000000 && Integer.compareUnsigned(ext, 0x80000001) >= 0) {
            r = cpuid.query(0x80000001, 0);
            caps[X86Caps.W_8000_0001_ECX] = r[2];
            caps[X86Caps.W_8000_0001_EDX] = r[3];
        }
        String modelId = "";
        if (Integer.compareUnsigned(ext, 0x80000004) >= 0) {
            ByteBuffer b = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
            for (int leaf = 0x80000002; leaf != 0x80000005; leaf++) for (int v : cpuid.query(leaf, 0)) b.putInt(v);
            modelId = brand(b.array());
        }
        if (Integer.compareUnsigned(ext, 0x80000007) >= 0) caps[X86Caps.W_8000_0007_EBX] = cpuid.query(0x80000007, 0)[1];
        if (Integer.compareUnsigned(ext, 0x8000000a) >= 0) caps[X86Caps.W_8000_000A_EDX] = cpuid.query(0x8000000a, 0)[3];
        if (Integer.compareUnsigned(ext, 0x80000008) >= 0) caps[X86Caps.W_8000_0008_EBX] = cpuid.query(0x80000008, 0)[1];

        X86Caps.set(caps, X86Caps.CPUID, true);
        X86Caps.set(caps, X86Caps.NOPL, true);
        if (level < 0xd) X86Caps.set(caps, X86Caps.XSAVE, false);
        if (vendor == VENDOR_INTEL) {
            if (family == 15) {
                X86Caps.set(caps, X86Caps.REP_GOOD, false);
                X86Caps.set(caps, X86Caps.ERMS, false);
            } else if (family == 6) {
                X86Caps.set(caps, X86Caps.REP_GOOD, true);
            }
        } else {
            // bit 31 of leaf 1 EDX is a non-standard 3DNow flag on AMD: dropped, as the kernel does
            X86Caps.set(caps, 31, false);
            if (family >= 0x10) X86Caps.set(caps, X86Caps.REP_GOOD, true);
            if (family == 0xf) {
                int sig = cpuid.query(1, 0)[0];
                if ((sig >= 0x0f48 && sig < 0x0f50) || sig >= 0x0f58) X86Caps.set(caps, X86Caps.REP_GOOD, true);
            }
        }

        if (!X86Caps.has(caps, X86Caps.FPU)) throw new CriuException("fpu: No FPU detected");
        long xfeatures = 0;
        int xsaveSize = 0, xsaveSizeMax = 0;
        if (X86Caps.has(caps, X86Caps.XSAVE)) {
            r = cpuid.query(0xd, 0);
            xfeatures = (r[0] & 0xffffffffL) | ((long) r[3] << 32);
            if ((xfeatures & 3) != 3) {
                throw new CriuException(String.format("fpu: FP/SSE not present amongst the CPU's xstate features: 0x%x", xfeatures));
            }
            for (int i = 0; i < XSAVE_CPUID_FEATURES.length; i++) {
                if (!X86Caps.has(caps, XSAVE_CPUID_FEATURES[i])) xfeatures &= ~(1L << i);
            }
            xfeatures &= XFEATURE_MASK_USER;
            xfeatures &= ~XFEATURE_MASK_SUPERVISOR_AS_CRIU;
            xsaveSize = r[1];
            xsaveSizeMax = r[2];
        }
        return new X86Cpu(vendorId, vendor, family, model, stepping, caps, modelId, xfeatures, xsaveSize, xsaveSizeMax, 2);
    }

    private static String ascii(int... regs) {
        ByteBuffer b = ByteBuffer.allocate(4 * regs.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : regs) b.putInt(v);
        return cString(b.array(), 0);
    }

    /** The brand string up to its NUL, leading blanks dropped (Intel right-justifies it); trailing ones stay, as in CRIU. */
    static String brand(byte[] raw) {
        int start = 0;
        while (start < raw.length && raw[start] == ' ') start++;
        return cString(raw, start);
    }

    private static String cString(byte[] raw, int from) {
        int end = from;
        while (end < raw.length && raw[end] != 0) end++;
        return new String(raw, from, end - from, StandardCharsets.ISO_8859_1);
    }

    /** cpuinfo.img's entry, field for field as cpu_dump_cpuinfo() writes it. */
    CpuinfoEntry toEntry() {
        CpuinfoX86Entry.Builder x = CpuinfoX86Entry.newBuilder()
                .setVendorId(CpuinfoX86Entry.Vendor.forNumber(vendor))
                .setCpuFamily(family).setModel(model).setStepping(stepping)
                .setCapabilityVer(2);
        for (int c : caps) x.addCapability(c);
        x.setXfeaturesMask(xfeaturesMask).setXsaveSize(xsaveSize).setXsaveSizeMax(xsaveSizeMax);
        if (!modelId.isEmpty()) x.setModelId(modelId);
        return CpuinfoEntry.newBuilder().addX86Entry(x).build();
    }

    /**
     * The image's CPU, completed from {@code rt} where an older image lacks a field (capability
     * words beyond version 1, xfeatures_mask, xsave sizes), as CRIU's img_to_cpuinfo() does so that
     * those fields always compare equal. Throws naming what is wrong with the image.
     */
    static X86Cpu fromImage(CpuinfoEntry e, X86Cpu rt, String file) {
        if (e.getX86EntryCount() != 1) {
            throw new CriuException(file + ": No x86 related cpuinfo in image, corruption (n_x86_entry = " + e.getX86EntryCount() + ")");
        }
        CpuinfoX86Entry x = e.getX86Entry(0);
        int vendor = x.getVendorId().getNumber();
        if (vendor != VENDOR_INTEL && vendor != VENDOR_AMD) throw new CriuException(file + ": Unknown cpu vendor " + vendor);
        int expect = switch (x.getCapabilityVer()) {
            case 1 -> X86Caps.NCAPINTS_V1;
            case 2 -> X86Caps.NCAPINTS;
            default -> throw new CriuException(file + ": Image carries unknown capability version " + x.getCapabilityVer());
        };
        if (x.getCapabilityCount() != expect) {
            throw new CriuException(file + ": Image carries " + x.getCapabilityCount() + " words while " + expect + " expected");
        }
        int[] caps = rt.caps.clone();
        for (int i = 0; i < expect; i++) caps[i] = x.getCapability(i);
        return new X86Cpu(vendor == VENDOR_INTEL ? "GenuineIntel" : "AuthenticAMD", vendor, x.getCpuFamily(), x.getModel(),
                x.getStepping(), caps, x.getModelId(),
                x.hasXfeaturesMask() ? x.getXfeaturesMask() : rt.xfeaturesMask,
                x.hasXsaveSize() ? x.getXsaveSize() : rt.xsaveSize,
                x.hasXsaveSizeMax() ? x.getXsaveSizeMax() : rt.xsaveSizeMax, x.getCapabilityVer());
    }
}

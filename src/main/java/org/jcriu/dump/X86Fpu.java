package org.jcriu.dump;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.jcriu.CriuException;
import org.jcriu.image.proto.UserX86CetEntry;
import org.jcriu.image.proto.UserX86FpregsEntry;
import org.jcriu.image.proto.UserX86XsaveEntry;

/**
 * Converts between the NT_X86_XSTATE regset (the XSAVE standard, non-compacted format that
 * ptrace uses) and CRIU's user_x86_fpregs_entry, which stores each state component as its own
 * repeated field. Both directions live here so dump and restore agree; restore uses
 * {@link #apply} on the xstate buffer it read from the new task (right size and XCR0 for this
 * machine).
 *
 * <p>Component offsets in the standard format are CPU-specific (CPUID leaf 0xD): Intel keeps
 * fixed offsets with room for MPX even on CPUs without it, AMD Zen packs the components it has
 * after the AVX area. The regset length tells which: it ends at the last enabled component.
 */
public final class X86Fpu {
    /** Offset of XCR0 in the regset: the kernel's sw_reserved bytes of the legacy area (gdb reads it there too). */
    private static final int XCR0_OFFSET = 464;
    private static final int XSTATE_BV_OFFSET = 512;
    private static final int AVX = 2, BNDREGS = 3, BNDCSR = 4, OPMASK = 5, ZMM_HI256 = 6, HI16_ZMM = 7, PKRU = 9;
    private static final int[] COMPONENTS = {AVX, BNDREGS, BNDCSR, OPMASK, ZMM_HI256, HI16_ZMM, PKRU};
    private static final int[] SIZE = new int[10];
    private static final int[] INTEL_OFFSET = new int[10];

    static {
        SIZE[AVX] = 256; SIZE[BNDREGS] = 64; SIZE[BNDCSR] = 64; SIZE[OPMASK] = 64; SIZE[ZMM_HI256] = 512;
        SIZE[HI16_ZMM] = 1024; SIZE[PKRU] = 8;
        INTEL_OFFSET[AVX] = 576; INTEL_OFFSET[BNDREGS] = 960; INTEL_OFFSET[BNDCSR] = 1024; INTEL_OFFSET[OPMASK] = 1088;
        INTEL_OFFSET[ZMM_HI256] = 1152; INTEL_OFFSET[HI16_ZMM] = 1664; INTEL_OFFSET[PKRU] = 2688;
    }

    private X86Fpu() {}

    /** Offsets of the enabled components for a regset of {@code len} bytes with feature mask {@code xcr0}. */
    static int[] offsets(long xcr0, int len) {
        int[] off = new int[10];
        int intelEnd = 0;
        for (int c : COMPONENTS) if ((xcr0 & (1L << c)) != 0) intelEnd = Math.max(intelEnd, INTEL_OFFSET[c] + SIZE[c]);
        boolean intel = len >= intelEnd;
        int cur = 576;
        for (int c : COMPONENTS) {
            if ((xcr0 & (1L << c)) == 0) continue;
            off[c] = intel ? INTEL_OFFSET[c] : cur;
            cur += SIZE[c];
            if (off[c] + SIZE[c] > len) {
                throw new CriuException("xstate of " + len + " bytes too short for XSAVE component " + c + " (xcr0 0x" + Long.toHexString(xcr0) + ")");
            }
        }
        return off;
    }

    public static UserX86FpregsEntry toImage(byte[] xs) {
        ByteBuffer b = ByteBuffer.wrap(xs).order(ByteOrder.LITTLE_ENDIAN);
        UserX86FpregsEntry.Builder f = UserX86FpregsEntry.newBuilder()
                .setCwd(b.getShort(0) & 0xffff).setSwd(b.getShort(2) & 0xffff).setTwd(b.getShort(4) & 0xffff)
                .setFop(b.getShort(6) & 0xffff).setRip(b.getLong(8)).setRdp(b.getLong(16))
                .setMxcsr(b.getInt(24)).setMxcsrMask(b.getInt(28));
        for (int i = 0; i < 32; i++) f.addStSpace(b.getInt(32 + 4 * i));
        for (int i = 0; i < 64; i++) f.addXmmSpace(b.getInt(160 + 4 * i));
        if (xs.length <= XSTATE_BV_OFFSET) return f.build();
        long xcr0 = b.getLong(XCR0_OFFSET);
        int[] off = offsets(xcr0, xs.length);
        UserX86XsaveEntry.Builder x = UserX86XsaveEntry.newBuilder().setXstateBv(b.getLong(XSTATE_BV_OFFSET));
        if (has(xcr0, AVX)) for (int i = 0; i < 64; i++) x.addYmmhSpace(b.getInt(off[AVX] + 4 * i));
        if (has(xcr0, BNDREGS)) for (int i = 0; i < 8; i++) x.addBndregState(b.getLong(off[BNDREGS] + 8 * i));
        if (has(xcr0, BNDCSR)) for (int i = 0; i < 2; i++) x.addBndcsrState(b.getLong(off[BNDCSR] + 8 * i));
        if (has(xcr0, OPMASK)) for (int i = 0; i < 8; i++) x.addOpmaskReg(b.getLong(off[OPMASK] + 8 * i));
        if (has(xcr0, ZMM_HI256)) for (int i = 0; i < 64; i++) x.addZmmUpper(b.getLong(off[ZMM_HI256] + 8 * i));
        if (has(xcr0, HI16_ZMM)) for (int i = 0; i < 128; i++) x.addHi16Zmm(b.getLong(off[HI16_ZMM] + 8 * i));
        if (has(xcr0, PKRU)) for (int i = 0; i < 2; i++) x.addPkru(b.getInt(off[PKRU] + 4 * i));
        // CET user state is a supervisor component, never in this regset; a task without a
        // shadow stack has zeros, which is what CRIU records on CET-capable CPUs.
        x.setCet(UserX86CetEntry.newBuilder().setCet(0).setSsp(0));
        return f.setXsave(x).build();
    }

    /**
     * Writes the image's FPU state into {@code xstate} (a regset read from the task that will
     * receive it) and returns it. Components the image lacks keep the buffer's values.
     */
    public static byte[] apply(UserX86FpregsEntry f, byte[] xstate) {
        byte[] out = xstate.clone();
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(0, (short) f.getCwd()).putShort(2, (short) f.getSwd()).putShort(4, (short) f.getTwd())
                .putShort(6, (short) f.getFop()).putLong(8, f.getRip()).putLong(16, f.getRdp())
                .putInt(24, f.getMxcsr()).putInt(28, f.getMxcsrMask());
        for (int i = 0; i < Math.min(32, f.getStSpaceCount()); i++) b.putInt(32 + 4 * i, f.getStSpace(i));
        for (int i = 0; i < Math.min(64, f.getXmmSpaceCount()); i++) b.putInt(160 + 4 * i, f.getXmmSpace(i));
        if (!f.hasXsave() || out.length <= XSTATE_BV_OFFSET) return out;
        UserX86XsaveEntry x = f.getXsave();
        long xcr0 = b.getLong(XCR0_OFFSET);
        int[] off = offsets(xcr0, out.length);
        b.putLong(XSTATE_BV_OFFSET, x.getXstateBv() & xcr0);
        if (has(xcr0, AVX)) for (int i = 0; i < x.getYmmhSpaceCount(); i++) b.putInt(off[AVX] + 4 * i, x.getYmmhSpace(i));
        if (has(xcr0, BNDREGS)) for (int i = 0; i < x.getBndregStateCount(); i++) b.putLong(off[BNDREGS] + 8 * i, x.getBndregState(i));
        if (has(xcr0, BNDCSR)) for (int i = 0; i < x.getBndcsrStateCount(); i++) b.putLong(off[BNDCSR] + 8 * i, x.getBndcsrState(i));
        if (has(xcr0, OPMASK)) for (int i = 0; i < x.getOpmaskRegCount(); i++) b.putLong(off[OPMASK] + 8 * i, x.getOpmaskReg(i));
        if (has(xcr0, ZMM_HI256)) for (int i = 0; i < x.getZmmUpperCount(); i++) b.putLong(off[ZMM_HI256] + 8 * i, x.getZmmUpper(i));
        if (has(xcr0, HI16_ZMM)) for (int i = 0; i < x.getHi16ZmmCount(); i++) b.putLong(off[HI16_ZMM] + 8 * i, x.getHi16Zmm(i));
        if (has(xcr0, PKRU)) for (int i = 0; i < x.getPkruCount(); i++) b.putInt(off[PKRU] + 4 * i, x.getPkru(i));
        return out;
    }

    private static boolean has(long xcr0, int c) {
        return (xcr0 & (1L << c)) != 0;
    }
}

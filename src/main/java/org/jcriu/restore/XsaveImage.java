package org.jcriu.restore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import org.jcriu.image.proto.UserX86FpregsEntry;
import org.jcriu.image.proto.UserX86XsaveEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;

/**
 * Builds the NT_X86_XSTATE buffer (standard, non-compacted XSAVE format) from a dumped
 * user_x86_fpregs_entry. The legacy FXSAVE area and the AVX upper halves are at fixed offsets;
 * the AVX-512 components sit where this CPU's CPUID leaf 0xD says, which the kernel does not
 * export: the two layouts in use are told apart by the buffer size the kernel reports (Intel
 * keeps a hole for MPX, AMD Zen 4 packs them right after AVX). Where neither matches, the
 * AVX-512 state is left as the kernel has it and a warning is logged.
 */
final class XsaveImage {
    private static final Logger LOG = Log.get("restore");
    static final int XSTATE_BV = 512, YMM = 576, XCR0_WORD = 464;
    static final int FP = 1, SSE = 1 << 1, AVX = 1 << 2, OPMASK = 1 << 5, ZMM_HI256 = 1 << 6, HI16_ZMM = 1 << 7, PKRU = 1 << 9;

    private XsaveImage() {}

    /** {@code current} is the task's xstate as the kernel returned it (its length is this CPU's). */
    static byte[] build(UserX86FpregsEntry fp, byte[] current) {
        ByteBuffer b = ByteBuffer.wrap(current.clone()).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(0, (short) fp.getCwd()).putShort(2, (short) fp.getSwd()).putShort(4, (short) fp.getTwd())
                .putShort(6, (short) fp.getFop()).putLong(8, fp.getRip()).putLong(16, fp.getRdp())
                .putInt(24, fp.getMxcsr()).putInt(28, fp.getMxcsrMask());
        putInts(b, 32, fp.getStSpaceList(), 32);
        putInts(b, 160, fp.getXmmSpaceList(), 64);
        long bv = FP | SSE;
        if (fp.hasXsave() && current.length > YMM) {
            UserX86XsaveEntry x = fp.getXsave();
            long xcr0 = b.getLong(XCR0_WORD);
            long want = x.getXstateBv() & xcr0;
            bv = want & (FP | SSE);
            if ((xcr0 & AVX) != 0 && x.getYmmhSpaceCount() == 64) {
                putInts(b, YMM, x.getYmmhSpaceList(), 64);
                bv |= want & AVX;
            }
            int[] off = avx512Offsets(current.length);
            if (off != null) {
                if ((xcr0 & OPMASK) != 0 && x.getOpmaskRegCount() == 8) {
                    putLongs(b, off[0], x.getOpmaskRegList());
                    bv |= want & OPMASK;
                }
                if ((xcr0 & ZMM_HI256) != 0 && x.getZmmUpperCount() == 64) {
                    putLongs(b, off[1], x.getZmmUpperList());
                    bv |= want & ZMM_HI256;
                }
                if ((xcr0 & HI16_ZMM) != 0 && x.getHi16ZmmCount() == 128) {
                    putLongs(b, off[2], x.getHi16ZmmList());
                    bv |= want & HI16_ZMM;
                }
                if ((xcr0 & PKRU) != 0 && x.getPkruCount() > 0 && off[3] + 4 <= current.length) {
                    b.putInt(off[3], x.getPkru(0));
                    bv |= want & PKRU;
                }
            } else if ((want & (OPMASK | ZMM_HI256 | HI16_ZMM)) != 0) {
                LOG.warn("AVX-512 state not restored: unknown XSAVE layout of %d bytes", current.length);
            }
        }
        b.putLong(XSTATE_BV, bv);
        b.putLong(XSTATE_BV + 8, 0); // xcomp_bv: standard format
        return b.array();
    }

    /** opmask, ZMM_Hi256, Hi16_ZMM, PKRU offsets for the two known layouts; null if unknown. */
    static int[] avx512Offsets(int size) {
        if (size >= 2688) return new int[] {1088, 1152, 1664, 2688};
        if (size >= 2432) return new int[] {832, 896, 1408, 2432};
        return null;
    }

    private static void putInts(ByteBuffer b, int at, List<Integer> v, int n) {
        for (int i = 0; i < Math.min(n, v.size()); i++) b.putInt(at + 4 * i, v.get(i));
    }

    private static void putLongs(ByteBuffer b, int at, List<Long> v) {
        for (int i = 0; i < v.size(); i++) b.putLong(at + 8 * i, v.get(i));
    }
}

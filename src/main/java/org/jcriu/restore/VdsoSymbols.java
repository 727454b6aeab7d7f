package org.jcriu.restore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The exported symbols of a vDSO image and their offsets. A task only holds pointers to these
 * entry points (glibc looks them up once at startup), so a vDSO of another kernel build can
 * stand in for the dumped one when every symbol sits at the same offset: the code in between
 * may differ. This is the test CRIU makes before simply moving the running kernel's vDSO into
 * place (otherwise it builds a proxy with jumps, which jcriu does not do yet).
 */
final class VdsoSymbols {
    private static final int SHT_DYNSYM = 11, STT_FUNC = 2, STT_OBJECT = 1;

    private VdsoSymbols() {}

    /** name@version-less -> st_value, for defined functions and objects; empty if not an ELF. */
    static Map<String, Long> of(byte[] image) {
        Map<String, Long> out = new TreeMap<>();
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (image.length < 64 || b.getInt(0) != 0x464c457f || image[4] != 2) return out;
        long shoff = b.getLong(40);
        int shentsize = b.getShort(58) & 0xffff, shnum = b.getShort(60) & 0xffff;
        for (int i = 0; i < shnum; i++) {
            long sh = shoff + (long) i * shentsize;
            if (sh + 64 > image.length || b.getInt((int) sh + 4) != SHT_DYNSYM) continue;
            long off = b.getLong((int) sh + 24), size = b.getLong((int) sh + 32), entsize = b.getLong((int) sh + 56);
            int link = b.getInt((int) sh + 40);
            long strSh = shoff + (long) link * shentsize;
            if (strSh + 64 > image.length || entsize < 24) return out;
            long strOff = b.getLong((int) strSh + 24), strSize = b.getLong((int) strSh + 32);
            for (long s = off; s + entsize <= off + size && s + 24 <= image.length; s += entsize) {
                int name = b.getInt((int) s);
                int info = image[(int) s + 4] & 0xf;
                int shndx = b.getShort((int) s + 6) & 0xffff;
                long value = b.getLong((int) s + 8);
                if (shndx == 0 || (info != STT_FUNC && info != STT_OBJECT) || name <= 0 || name >= strSize) continue;
                int start = (int) (strOff + name), end = start;
                while (end < image.length && image[end] != 0) end++;
                out.put(new String(image, start, end - start, StandardCharsets.US_ASCII), value);
            }
        }
        return out;
    }
}

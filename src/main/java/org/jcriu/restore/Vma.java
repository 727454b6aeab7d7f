package org.jcriu.restore;

import org.jcriu.image.proto.VmaEntry;

/**
 * One dumped VMA (vma_entry), with the status bits CRIU uses to say what kind of mapping it is
 * (criu/include/image.h). Addresses are page aligned and {@code end} is exclusive.
 */
public record Vma(long start, long end, long pgoff, long shmid, int prot, int flags, int status, long madv, int fdflags) {
    public static final int REGULAR = 1, STACK = 1 << 1, VSYSCALL = 1 << 2, VDSO = 1 << 3, HEAP = 1 << 5,
            FILE_PRIVATE = 1 << 6, FILE_SHARED = 1 << 7, ANON_SHARED = 1 << 8, ANON_PRIVATE = 1 << 9,
            SYSVIPC = 1 << 10, SOCKET = 1 << 11, VVAR = 1 << 12, AIORING = 1 << 13, MEMFD = 1 << 14,
            SHSTK = 1 << 15, GUARD = 1 << 16, UPROBES = 1 << 17, UNSUPP = 1 << 31;

    public static Vma of(VmaEntry e) {
        return new Vma(e.getStart(), e.getEnd(), e.getPgoff(), e.getShmid(), e.getProt(), e.getFlags(), e.getStatus(),
                e.getMadv(), e.getFdflags());
    }

    public long size() {
        return end - start;
    }

    public boolean is(int bits) {
        return (status & bits) != 0;
    }

    /** A mapping the kernel provides (vDSO, vvar, vsyscall): moved or left alone, never mapped from the image. */
    public boolean special() {
        return is(VDSO | VVAR | VSYSCALL | UPROBES);
    }

    public boolean fileBacked() {
        return is(FILE_PRIVATE | FILE_SHARED);
    }

    public boolean contains(long addr) {
        return addr >= start && addr < end;
    }

    public boolean overlaps(long s, long e) {
        return s < end && e > start;
    }

    @Override
    public String toString() {
        return String.format("VMA %x-%x %s%s%s", start, end, (prot & 1) != 0 ? "r" : "-", (prot & 2) != 0 ? "w" : "-",
                (prot & 4) != 0 ? "x" : "-");
    }
}

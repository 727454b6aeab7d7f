package org.jcriu.proc;

/**
 * One line of /proc/PID/maps plus the VmFlags of its smaps block.
 *
 * @param path  the name column: a file path (possibly ending in " (deleted)"), "[heap]",
 *              "[stack]", "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]", or "" for anonymous
 * @param vmFlags bit set of {@link #VM_GD} etc., from the two-letter smaps mnemonics
 * @param kernelPageSize the smaps KernelPageSize in bytes: the huge page size of a hugetlb VMA
 */
public record Vma(long start, long end, boolean read, boolean write, boolean exec, boolean shared,
                  long pgoff, int devMajor, int devMinor, long ino, String path, long vmFlags, long kernelPageSize) {

    public Vma(long start, long end, boolean read, boolean write, boolean exec, boolean shared, long pgoff, int devMajor,
               int devMinor, long ino, String path, long vmFlags) {
        this(start, end, read, write, exec, shared, pgoff, devMajor, devMinor, ino, path, vmFlags, 4096);
    }

    // smaps VmFlags mnemonics (fs/proc/task_mmu.c show_smap_vma_flags) that change a dump.
    public static final long VM_GD = 1L;        // gd: stack grows down (MAP_GROWSDOWN)
    public static final long VM_LO = 1L << 1;   // lo: locked (MAP_LOCKED / mlock)
    public static final long VM_DD = 1L << 2;   // dd: MADV_DONTDUMP
    public static final long VM_DC = 1L << 3;   // dc: MADV_DONTFORK
    public static final long VM_HG = 1L << 4;   // hg: MADV_HUGEPAGE
    public static final long VM_NH = 1L << 5;   // nh: MADV_NOHUGEPAGE
    public static final long VM_MG = 1L << 6;   // mg: MADV_MERGEABLE
    public static final long VM_WF = 1L << 7;   // wf: MADV_WIPEONFORK
    public static final long VM_SS = 1L << 8;   // ss: shadow stack
    public static final long VM_IO = 1L << 9;   // io: memory-mapped I/O (device memory)
    public static final long VM_PF = 1L << 10;  // pf: PFN map
    public static final long VM_SD = 1L << 11;  // sd: soft dirty
    public static final long VM_SH = 1L << 12;  // sh: shared
    public static final long VM_MR = 1L << 13;  // mr: may read
    public static final long VM_ME = 1L << 14;  // me: may exec
    public static final long VM_DE = 1L << 15;  // de: do not expand on remap
    public static final long VM_UW = 1L << 16;  // uw: userfaultfd wp
    public static final long VM_UM = 1L << 17;  // um: userfaultfd missing
    public static final long VM_SL = 1L << 18;  // sl: sealed
    public static final long VM_NR = 1L << 19;  // nr: MAP_NORESERVE (no swap space accounted)
    public static final long VM_HT = 1L << 20;  // ht: hugetlb
    public static final long VM_DP = 1L << 21;  // dp: MAP_DROPPABLE
    public static final long VM_SR = 1L << 22;  // sr: MADV_SEQUENTIAL
    public static final long VM_RR = 1L << 23;  // rr: MADV_RANDOM
    public static final long VM_LF = 1L << 24;  // lf: locked on fault (mlock2 MLOCK_ONFAULT)
    public static final long VM_MW = 1L << 25;  // mw: may write

    public long length() {
        return end - start;
    }

    public boolean anonymous() {
        return ino == 0 && devMajor == 0 && devMinor == 0 && !path.startsWith("/");
    }

    public boolean has(long flag) {
        return (vmFlags & flag) != 0;
    }

    public boolean deleted() {
        return path.endsWith(" (deleted)");
    }

    public String perms() {
        return (read ? "r" : "-") + (write ? "w" : "-") + (exec ? "x" : "-") + (shared ? "s" : "p");
    }

    @Override
    public String toString() {
        return Long.toHexString(start) + "-" + Long.toHexString(end) + " " + perms() + " " + path;
    }

    static long flagOf(char a, char b) {
        return switch ((a << 8) | b) {
            case ('g' << 8) | 'd' -> VM_GD;
            case ('l' << 8) | 'o' -> VM_LO;
            case ('d' << 8) | 'd' -> VM_DD;
            case ('d' << 8) | 'c' -> VM_DC;
            case ('h' << 8) | 'g' -> VM_HG;
            case ('n' << 8) | 'h' -> VM_NH;
            case ('m' << 8) | 'g' -> VM_MG;
            case ('w' << 8) | 'f' -> VM_WF;
            case ('s' << 8) | 's' -> VM_SS;
            case ('i' << 8) | 'o' -> VM_IO;
            case ('p' << 8) | 'f' -> VM_PF;
            case ('s' << 8) | 'd' -> VM_SD;
            case ('s' << 8) | 'h' -> VM_SH;
            case ('m' << 8) | 'r' -> VM_MR;
            case ('m' << 8) | 'e' -> VM_ME;
            case ('d' << 8) | 'e' -> VM_DE;
            case ('u' << 8) | 'w' -> VM_UW;
            case ('u' << 8) | 'm' -> VM_UM;
            case ('s' << 8) | 'l' -> VM_SL;
            case ('n' << 8) | 'r' -> VM_NR;
            case ('h' << 8) | 't' -> VM_HT;
            case ('d' << 8) | 'p' -> VM_DP;
            case ('s' << 8) | 'r' -> VM_SR;
            case ('r' << 8) | 'r' -> VM_RR;
            case ('l' << 8) | 'f' -> VM_LF;
            case ('m' << 8) | 'w' -> VM_MW;
            default -> 0;
        };
    }
}

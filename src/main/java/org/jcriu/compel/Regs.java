package org.jcriu.compel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** x86_64 {@code struct user_regs_struct}: 27 words in the kernel's order. */
public final class Regs {
    public static final int R15 = 0, R14 = 1, R13 = 2, R12 = 3, RBP = 4, RBX = 5, R11 = 6, R10 = 7, R9 = 8, R8 = 9,
            RAX = 10, RCX = 11, RDX = 12, RSI = 13, RDI = 14, ORIG_RAX = 15, RIP = 16, CS = 17, EFLAGS = 18, RSP = 19,
            SS = 20, FS_BASE = 21, GS_BASE = 22, DS = 23, ES = 24, FS = 25, GS = 26;
    public static final int WORDS = 27, SIZE = WORDS * 8;
    /** Syscall argument registers in ABI order. */
    static final int[] ARGS = {RDI, RSI, RDX, R10, R8, R9};

    private final long[] w;

    private Regs(long[] w) {
        this.w = w;
    }

    public static Regs of(long[] words) {
        if (words.length != WORDS) throw new IllegalArgumentException("user_regs_struct has 27 words, got " + words.length);
        return new Regs(words.clone());
    }

    public static Regs of(byte[] raw) {
        if (raw.length < SIZE) throw new IllegalArgumentException("short user_regs_struct: " + raw.length + " bytes");
        long[] w = new long[WORDS];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(w);
        return new Regs(w);
    }

    public byte[] toBytes() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(w);
        return b.array();
    }

    public long[] toArray() {
        return w.clone();
    }

    public Regs copy() {
        return new Regs(w.clone());
    }

    public long get(int i) {
        return w[i];
    }

    public Regs set(int i, long v) {
        w[i] = v;
        return this;
    }

    public long rip() { return w[RIP]; }
    public long rsp() { return w[RSP]; }
    public long rax() { return w[RAX]; }
    public long origRax() { return w[ORIG_RAX]; }
    public long fsBase() { return w[FS_BASE]; }
    public long gsBase() { return w[GS_BASE]; }
    public long eflags() { return w[EFLAGS]; }

    @Override
    public boolean equals(Object o) {
        return o instanceof Regs r && Arrays.equals(w, r.w);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(w);
    }

    @Override
    public String toString() {
        return String.format("rip=0x%x rsp=0x%x rax=0x%x orig_rax=%d", rip(), rsp(), rax(), origRax());
    }
}

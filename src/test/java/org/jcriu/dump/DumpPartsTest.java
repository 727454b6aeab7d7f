package org.jcriu.dump;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;
import org.jcriu.CriuException;
import org.jcriu.compel.Regs;
import org.jcriu.image.proto.UserX86FpregsEntry;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.proc.Vma;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.junit.jupiter.api.Test;

class DumpPartsTest {
    private static Vma anon(long start, long end, String name, long flags) {
        return new Vma(start, end, true, true, false, false, 0, 0, 0, 0, name, flags);
    }

    @Test
    void vmaPlanFollowsCriuStatusBits() {
        List<Vma> vmas = List.of(
                anon(0x1000, 0x3000, "[heap]", 0),
                anon(0x10000, 0x14000, "[vvar]", Vma.VM_DD | Vma.VM_IO | Vma.VM_PF),
                anon(0x14000, 0x16000, "[vvar_vclock]", Vma.VM_DD | Vma.VM_IO | Vma.VM_PF),
                new Vma(0x16000, 0x18000, true, false, true, false, 0, 0, 0, 0, "[vdso]", 0),
                anon(0x20000, 0x40000, "[stack]", Vma.VM_GD),
                new Vma(0xffffffffff600000L, 0xffffffffff601000L, false, false, true, false, 0, 0, 0, 0, "[vsyscall]", 0));
        VmaPlan p = VmaPlan.build(1, vmas, null);
        List<VmaEntry> e = p.entries();
        assertEquals(5, e.size(), "[vvar] and [vvar_vclock] make one area");
        assertEquals(VmaPlan.VMA_AREA_REGULAR | VmaPlan.VMA_AREA_HEAP | VmaPlan.VMA_ANON_PRIVATE, e.get(0).getStatus());
        assertEquals(Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS, e.get(0).getFlags());
        assertEquals(0x16000, e.get(1).getEnd());
        assertEquals(4609, e.get(1).getStatus(), "vvar as in the CRIU 4.2 fixture");
        assertEquals(1L << 16, e.get(1).getMadv(), "MADV_DONTDUMP");
        assertEquals(521, e.get(2).getStatus(), "vdso");
        assertEquals(Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS | Linux.MAP_GROWSDOWN, e.get(3).getFlags());
        assertEquals(513, e.get(3).getStatus(), "the stack has no STACK bit in CRIU 4.2 images");
        assertEquals(516, e.get(4).getStatus(), "vsyscall is not REGULAR");
        assertEquals(List.of(VmaPlan.Pages.ANON_LAZY, VmaPlan.Pages.NONE, VmaPlan.Pages.ALL, VmaPlan.Pages.ANON_LAZY, VmaPlan.Pages.NONE),
                p.areas().stream().map(VmaPlan.Area::pages).toList());
    }

    @Test
    void unsupportedMappingsAreNamed() {
        Vma shm = new Vma(0x1000, 0x2000, true, true, false, true, 0, 0, 0, 0, "", 0);
        CriuException e = assertThrows(CriuException.class, () -> VmaPlan.build(7, List.of(shm), null));
        assertTrue(e.getMessage().contains("task 7") && e.getMessage().contains("shared anonymous memory"), e.getMessage());
        Vma deleted = new Vma(0x1000, 0x2000, true, false, false, false, 0, 254, 0, 42, "/tmp/x (deleted)", 0);
        e = assertThrows(CriuException.class, () -> VmaPlan.build(7, List.of(deleted), null));
        assertTrue(e.getMessage().contains("unlinked file"), e.getMessage());
        Vma io = new Vma(0x1000, 0x2000, true, true, false, true, 0, 0, 6, 9, "/dev/mem", Vma.VM_IO);
        e = assertThrows(CriuException.class, () -> VmaPlan.build(7, List.of(io), null));
        assertTrue(e.getMessage().contains("device memory"), e.getMessage());
    }

    @Test
    void interruptedSyscallsAreMadeRestartable() {
        long[] w = new long[Regs.WORDS];
        w[Regs.RIP] = 0x1002;
        w[Regs.ORIG_RAX] = Nr.READ;
        w[Regs.RAX] = -512;
        Regs r = Dumper.restartable(Regs.of(w), 1);
        assertEquals(Nr.READ, r.rax());
        assertEquals(0x1000, r.rip(), "back onto the syscall instruction");
        w[Regs.RAX] = -516;
        w[Regs.ORIG_RAX] = Nr.CLOCK_NANOSLEEP;
        r = Dumper.restartable(Regs.of(w), 1);
        assertEquals(-4, r.rax(), "ERESTART_RESTARTBLOCK becomes EINTR, as in criu");
        assertEquals(0x1002, r.rip());
        w[Regs.ORIG_RAX] = -1;
        w[Regs.RAX] = -512;
        assertEquals(Regs.of(w), Dumper.restartable(Regs.of(w), 1), "not in a syscall: untouched");
    }

    private static byte[] xstate(int len, long xcr0, long seed) {
        byte[] b = new byte[len];
        new Random(seed).nextBytes(b);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(464, xcr0).putLong(512, xcr0 & 0xa2).putLong(520, 0);
        return b;
    }

    @Test
    void fpuRoundTripsThroughTheImageOnBothLayouts() {
        // AMD Zen packs AVX-512 right after AVX (2432 bytes); Intel keeps the MPX hole (2688).
        for (int[] c : new int[][] {{2432, 0xe7}, {2688, 0xe7}, {2440, 0x2e7}, {832, 0x7}}) {
            byte[] xs = xstate(c[0], c[1], c[0]);
            UserX86FpregsEntry f = X86Fpu.toImage(xs);
            byte[] back = X86Fpu.apply(f, withXcr0(c[0], c[1]));
            UserX86FpregsEntry again = X86Fpu.toImage(back);
            assertEquals(f, again, "layout of " + c[0] + " bytes");
            assertEquals(0, java.util.Arrays.compare(xs, 0, 416, back, 0, 416), "legacy area");
        }
        int[] amd = X86Fpu.offsets(0xe7, 2432);
        assertEquals(832, amd[5]);
        assertEquals(1408, amd[7]);
        int[] intel = X86Fpu.offsets(0xe7, 2688);
        assertEquals(1088, intel[5]);
        assertEquals(1664, intel[7]);
    }

    private static byte[] withXcr0(int len, long xcr0) {
        byte[] b = new byte[len];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(464, xcr0);
        return b;
    }

    @Test
    void runIdIsAVersion4UuidNewEachRun() {
        String a = Images.runId(), b = Images.runId();
        java.util.UUID u = java.util.UUID.fromString(a);
        assertEquals(4, u.version(), a);
        assertEquals(2, u.variant(), a);
        assertNotEquals(a, b);
    }
}

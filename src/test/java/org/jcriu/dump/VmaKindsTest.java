package org.jcriu.dump;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.image.proto.VmaEntry;
import org.jcriu.proc.Maps;
import org.jcriu.proc.Vma;
import org.jcriu.sys.Linux;
import org.junit.jupiter.api.Test;

/** smaps blocks as this kernel writes them, through Maps and VmaPlan into CRIU's vma_entry fields. */
class VmaKindsTest {
    private static final String SMAPS = """
            7f30cf06b000-7f30cf06f000 rw-p 00000000 00:00 0
            Size:                 16 kB
            KernelPageSize:        4 kB
            VmFlags: rd wr mr mw me nr wf dd dp
            7f30cf073000-7f30cf077000 rw-p 00000000 00:00 0
            KernelPageSize:        4 kB
            VmFlags: rd wr mr mw me lo ac
            7f30cf275000-7f30cf279000 rw-p 00000000 00:00 0
            VmFlags: rd wr mr mw me rr sr ac
            7f4000000000-7f4000400000 rw-p 00000000 00:10 2048                     /anon_hugepage (deleted)
            KernelPageSize:     2048 kB
            VmFlags: rd wr mr mw me de ht
            """;

    @Test
    void smapsFlagsBecomeMapFlagsAndAdvice() {
        List<Vma> vmas = Maps.parse(SMAPS.getBytes(StandardCharsets.US_ASCII), 1);
        assertEquals(2L << 20, vmas.get(3).kernelPageSize());
        List<VmaEntry> e = VmaPlan.build(1, vmas, null).entries();
        // droppable: its own map type instead of MAP_PRIVATE (criu/proc_parse.c), NORESERVE, wipeonfork + dontdump
        assertEquals(0x08 | Linux.MAP_ANONYMOUS | Linux.MAP_NORESERVE, e.get(0).getFlags());
        assertEquals((1L << 18) | (1L << 16), e.get(0).getMadv());
        assertEquals(Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS | 0x2000, e.get(1).getFlags(), "MAP_LOCKED");
        assertEquals((1L << 1) | (1L << 2), e.get(2).getMadv(), "MADV_RANDOM, MADV_SEQUENTIAL");
        assertEquals(Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS | 0x40000 | (21 << 26), e.get(3).getFlags(), "MAP_HUGETLB | MAP_HUGE_2MB");
        assertEquals(VmaPlan.VMA_AREA_REGULAR | VmaPlan.VMA_ANON_PRIVATE, e.get(3).getStatus());
    }

    @Test
    void droppableAndHugetlbPagesAreTreatedAsCriuDoes() {
        List<VmaPlan.Area> a = VmaPlan.build(1, Maps.parse(SMAPS.getBytes(StandardCharsets.US_ASCII), 1), null).areas();
        assertEquals(VmaPlan.Pages.NONE, a.get(0).pages(), "droppable pages are never saved");
        assertEquals(VmaPlan.Pages.ANON, a.get(1).pages(), "locked memory is not lazy");
        assertEquals(VmaPlan.Pages.ANON, a.get(3).pages(), "hugetlb memory is not lazy");
    }

    @Test
    void aioRequestCountIsEstimatedBackFromTheRing() {
        // io_setup(128) on 2 CPUs: (128 * 2 + 2) events, 3 pages, 383 events fit
        assertEquals(190, VmaPlan.aioNrReq(3 * 4096));
        assertEquals(126, VmaPlan.aioNrReq(2 * 4096));
    }

    /**
     * Shared anonymous hugetlb is a memfd mapping for CRIU 4.2 (VMA_AREA_MEMFD, the huge page size
     * bits kept, no MAP_ANONYMOUS); a file on a hugetlbfs mount is a regular file mapping with
     * MAP_HUGETLB alone; an unlinked one (its name ends in " (deleted)") can't be reopened.
     */
    @Test
    void hugetlbKindsArePlannedAsCriuDoes() {
        Vma shared = new Vma(0x200000, 0x400000, true, true, false, true, 0, 0, 16, 9, "/anon_hugepage (deleted)", Vma.VM_HT, 2 << 20);
        VmaPlan sp = VmaPlan.build(7, List.of(shared), null);
        assertEquals(VmaPlan.VMA_AREA_REGULAR | VmaPlan.VMA_FILE_SHARED | VmaPlan.VMA_AREA_MEMFD, sp.entries().get(0).getStatus());
        assertEquals(Linux.MAP_SHARED | 0x40000 | (21 << 26), sp.entries().get(0).getFlags());
        assertEquals(VmaPlan.Pages.NONE, sp.areas().get(0).pages(), "the object's pages go to pagemap-shmem, not the task's");
        Vma file = new Vma(0x200000, 0x400000, true, true, false, false, 0, 0, 16, 9, "/dev/hugepages/x", Vma.VM_HT, 2 << 20);
        VmaPlan fp = VmaPlan.build(7, List.of(file), null);
        assertEquals(VmaPlan.VMA_AREA_REGULAR | VmaPlan.VMA_FILE_PRIVATE, fp.entries().get(0).getStatus());
        assertEquals(Linux.MAP_PRIVATE | 0x40000, fp.entries().get(0).getFlags());
        assertEquals(VmaPlan.Pages.FILE_PRIVATE, fp.areas().get(0).pages());
        Vma gone = new Vma(0x200000, 0x400000, true, true, false, true, 0, 0, 16, 9, "/dev/hugepages/x (deleted)", Vma.VM_HT, 2 << 20);
        CriuException e = assertThrows(CriuException.class, () -> VmaPlan.build(7, List.of(gone), null));
        assertTrue(e.getMessage().contains("unlinked hugetlbfs file"), e.getMessage());
        Vma sysvPrivate = new Vma(0x1000, 0x2000, true, true, false, false, 0, 0, 1, 3, "/SYSV00000000 (deleted)", 0);
        e = assertThrows(CriuException.class, () -> VmaPlan.build(7, List.of(sysvPrivate), null));
        assertTrue(e.getMessage().contains("private mapping of a SysV"), e.getMessage());
    }
}

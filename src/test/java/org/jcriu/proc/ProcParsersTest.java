package org.jcriu.proc;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcParsersTest {
    @TempDir Path tmp;

    @Test
    void statOfSpawnedSleep() {
        try (Workload w = Workload.sleep(tmp)) {
            Stat s = Stat.read(w.pid());
            assertEquals(w.pid(), s.pid());
            assertEquals("sleep", s.comm());
            assertEquals('S', s.state());
            assertEquals(w.pid(), s.sid(), "setsid makes it a session leader");
            assertEquals(1, s.numThreads());
            assertTrue(s.startCode() > 0 && s.endCode() > s.startCode());
            assertTrue(s.argStart() < s.argEnd() && s.argEnd() <= s.envStart() && s.envStart() < s.envEnd());
            assertTrue(s.startBrk() > 0);
        }
    }

    @Test
    void statCommWithParenthesesAndSpaces() {
        String text = "42 (a) b (c) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 100 1000 10 "
                + "18446744073709551615 4096 8192 140000 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 "
                + "12288 12300 20480 140100 140110 140110 140120 0\n";
        Stat s = Stat.parse(text.getBytes(), 42);
        assertEquals("a) b (c", s.comm());
        assertEquals(1, s.ppid());
        assertEquals(4194560L, s.flags());
        assertEquals(4096, s.startCode());
        assertEquals(12288, s.startData());
        assertEquals(140120, s.envEnd());
        assertEquals(0, s.exitCode());
    }

    @Test
    void statusOfSelf() {
        int self = (int) ProcessHandle.current().pid();
        Status st = Status.read(self);
        assertEquals(self, st.getInt("Pid"));
        assertEquals(4, st.getList("Uid").length);
        assertTrue(st.threads() > 1, "a JVM has many threads");
        assertEquals(0, st.tracerPid());
        assertTrue(st.getHex("CapBnd") != 0);
    }

    @Test
    void mapsOfSpawnedSleepHaveStackVdsoAndFlags() {
        try (Workload w = Workload.sleep(tmp)) {
            List<Vma> vmas = Maps.read(w.pid());
            Vma stack = vmas.stream().filter(v -> v.path().equals("[stack]")).findFirst().orElseThrow();
            assertTrue(stack.has(Vma.VM_GD), "stack grows down");
            assertTrue(stack.read() && stack.write() && !stack.exec() && !stack.shared());
            assertTrue(vmas.stream().anyMatch(v -> v.path().equals("[vdso]") && v.exec()));
            assertTrue(vmas.stream().anyMatch(v -> v.path().startsWith("[vvar") && v.has(Vma.VM_DD)));
            Vma text = vmas.stream().filter(v -> v.path().endsWith("/sleep") && v.exec()).findFirst().orElseThrow();
            assertTrue(text.ino() > 0 && text.pgoff() > 0);
            for (int i = 1; i < vmas.size(); i++) assertTrue(Long.compareUnsigned(vmas.get(i).start(), vmas.get(i - 1).end()) >= 0);
        }
    }

    @Test
    void limitsMatchTheKernelRows() {
        long[][] l = Limits.parse("""
                Limit                     Soft Limit           Hard Limit           Units     
                Max cpu time              unlimited            unlimited            seconds   
                Max file size             unlimited            unlimited            bytes     
                Max data size             unlimited            unlimited            bytes     
                Max stack size            8388608              unlimited            bytes     
                Max core file size        0                    unlimited            bytes     
                Max resident set          unlimited            unlimited            bytes     
                Max processes             96364                96364                processes 
                Max open files            20000                20000                files     
                Max locked memory         8388608              8388608              bytes     
                Max address space         unlimited            unlimited            bytes     
                Max file locks            unlimited            unlimited            locks     
                Max pending signals       96364                96364                signals   
                Max msgqueue size         819200               819200               bytes     
                Max nice priority         0                    0                    
                Max realtime priority     0                    0                    
                Max realtime timeout      unlimited            unlimited            us        
                """, 1);
        assertEquals(-1L, l[0][0]);
        assertEquals(8388608L, l[3][0]);
        assertEquals(-1L, l[3][1]);
        assertEquals(20000L, l[7][1]);
        assertEquals(0L, l[14][1]);
        long[][] self = Limits.read((int) ProcessHandle.current().pid());
        assertEquals(Limits.RLIM_NLIMITS, self.length);
    }

    @Test
    void fdinfoAndAuxvOfSpawnedSleep() {
        try (Workload w = Workload.sleep(tmp)) {
            FdInfo fi = FdInfo.read(w.pid(), 0);
            assertEquals(0, fi.pos());
            assertEquals(0, fi.flags() & 3, "stdin is /dev/null opened O_RDONLY");
            long[] auxv = Auxv.read(w.pid());
            assertEquals(0, auxv.length % 2);
            boolean pagesz = false;
            for (int i = 0; i < auxv.length; i += 2) if (auxv[i] == 6) pagesz = auxv[i + 1] == 4096;
            assertTrue(pagesz, "AT_PAGESZ 4096");
        }
    }
}

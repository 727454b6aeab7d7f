package org.jcriu.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;
import org.junit.jupiter.api.Test;

/** RemotePages on this JVM's own memory: PROT_NONE pages read through /proc/PID/mem, holes reported or refused. */
class RemotePagesTest {
    static final long P = PageRun.PAGE_SIZE;

    @Test
    void protNoneIsReadAndAnUnmappedPageIsLostOrNamed() {
        int self = Sys.getpid();
        long base = Sys.check("mmap", Nr.MMAP, 0, 4 * P, Linux.PROT_READ | Linux.PROT_WRITE,
                Linux.MAP_PRIVATE | Linux.MAP_ANONYMOUS, -1, 0);
        try (Arena a = Arena.ofConfined(); RemotePages mem = new RemotePages(self)) {
            MemorySegment m = MemorySegment.ofAddress(base).reinterpret(4 * P);
            for (int i = 0; i < 4; i++) m.set(ValueLayout.JAVA_LONG, i * P, 100 + i);
            Sys.check("mprotect", Nr.MPROTECT, base + P, P, Linux.PROT_NONE);
            Sys.check("munmap", Nr.MUNMAP, base + 2 * P, P);
            MemorySegment buf = a.allocate(4 * P, P);
            List<Long> lost = new ArrayList<>();
            mem.read(buf, new long[] {base, base + 3 * P}, new long[] {3 * P, P}, 2, lost::add);
            assertEquals(List.of(2 * P), lost);
            assertEquals(100, buf.get(ValueLayout.JAVA_LONG, 0));
            assertEquals(101, buf.get(ValueLayout.JAVA_LONG, P), "the PROT_NONE page");
            assertEquals(103, buf.get(ValueLayout.JAVA_LONG, 3 * P));
            CriuException e = assertThrows(CriuException.class, () -> mem.read(buf, base, 3 * P, null));
            assertTrue(e.getMessage().contains("task " + self) && e.getMessage().contains(Long.toHexString(base + 2 * P)),
                    e.getMessage());
        } finally {
            Sys.raw(Nr.MUNMAP, base, 4 * P);
        }
    }
}

package org.jcriu.dump;

import static org.junit.jupiter.api.Assertions.*;

import org.jcriu.compel.Regs;
import org.junit.jupiter.api.Test;

/** poll(2) interrupted at dump: restarted when it had no timeout, EINTR (as criu) when it had one. */
class PollRestartTest {
    @Test
    void pollWithoutTimeoutIsIssuedAgainAndWithATimeoutGetsEintr() {
        long[] w = new long[Regs.WORDS];
        w[Regs.RIP] = 0x1002;
        w[Regs.ORIG_RAX] = 7;
        w[Regs.RAX] = -516;
        w[Regs.RDX] = 0xffffffffL; // int timeout -1
        Regs r = Dumper.restartable(Regs.of(w), 1);
        assertEquals(7, r.rax());
        assertEquals(0x1000, r.rip(), "back onto the syscall instruction");
        w[Regs.RDX] = 5000;
        r = Dumper.restartable(Regs.of(w), 1);
        assertEquals(-4, r.rax());
        assertEquals(0x1002, r.rip());
    }
}

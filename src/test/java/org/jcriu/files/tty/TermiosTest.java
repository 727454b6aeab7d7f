package org.jcriu.files.tty;

import static org.junit.jupiter.api.Assertions.*;

import org.jcriu.image.proto.TermiosEntry;
import org.junit.jupiter.api.Test;

/** The kernel's 36-byte struct termios and 8-byte winsize against CRIU's entries. */
class TermiosTest {
    @Test
    void kernelTermiosRoundTripsThroughTheEntry() {
        byte[] k = new byte[Termios.SIZE];
        k[0] = 0x01; k[1] = 0x05;           // c_iflag 0x0501 (ICRNL|IXON|BRKINT)
        k[4] = 0x05;                         // c_oflag OPOST|ONLCR
        k[8] = (byte) 0xbf; k[9] = 0x04;    // c_cflag 0x04bf
        k[12] = 0x3b; k[13] = (byte) 0x8a;  // c_lflag 0x8a3b
        k[16] = 0;                           // c_line N_TTY
        for (int i = 0; i < Termios.NCC; i++) k[17 + i] = (byte) (i + 1);
        k[17 + 18] = (byte) 0xff;            // last control char, unsigned
        TermiosEntry t = Termios.entry(k);
        assertEquals(0x0501, t.getCIflag());
        assertEquals(0x04bf, t.getCCflag());
        assertEquals(0x8a3b, t.getCLflag());
        assertEquals(19, t.getCCcCount());
        assertEquals(0xff, t.getCCc(18));
        assertEquals(0, t.getCIspeed(), "CRIU leaves the speeds 0: they live in c_cflag");
        assertArrayEquals(k, Termios.kernel(t));
    }

    @Test
    void winsizeIsFourUnsignedShorts() {
        byte[] k = {33, 0, 111, 0, (byte) 0x80, 2, (byte) 0xe0, 1};
        var w = Termios.winsize(k);
        assertEquals(33, w.getWsRow());
        assertEquals(111, w.getWsCol());
        assertEquals(640, w.getWsXpixel());
        assertEquals(480, w.getWsYpixel());
        assertArrayEquals(k, Termios.kernel(w));
    }

    @Test
    void ptySidesHaveCriusInfoIds() {
        assertEquals(6, TtyHandler.infoId(3, false));
        assertEquals(7, TtyHandler.infoId(3, true));
    }
}

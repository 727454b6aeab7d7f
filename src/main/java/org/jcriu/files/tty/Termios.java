package org.jcriu.files.tty;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.jcriu.image.proto.TermiosEntry;
import org.jcriu.image.proto.WinsizeEntry;

/**
 * The kernel's terminal structs as TCGETS/TIOCGWINSZ read and write them, and their image
 * entries. The kernel's struct termios (not glibc's) is 36 bytes: four flag words, c_line and 19
 * control characters, no speeds; CRIU saves exactly that and leaves c_ispeed/c_ospeed 0.
 */
final class Termios {
    static final int SIZE = 36, NCC = 19, WINSIZE_SIZE = 8;

    static final long TCGETS = 0x5401, TCSETS = 0x5402, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414,
            TIOCGLCKTRMIOS = 0x5456, TIOCSLCKTRMIOS = 0x5457, TIOCGPTN = 0x80045430L, TIOCSPTLCK = 0x40045431L,
            TIOCGPTLCK = 0x80045439L, TIOCPKT = 0x5420, TIOCGPKT = 0x80045438L, TIOCEXCL = 0x540c,
            TIOCGEXCL = 0x80045440L, TIOCSCTTY = 0x540e, TIOCGSID = 0x5429, TIOCGPGRP = 0x540f, TIOCSPGRP = 0x5410,
            FIONREAD = 0x541b;

    private Termios() {}

    static TermiosEntry entry(byte[] k) {
        ByteBuffer b = ByteBuffer.wrap(k).order(ByteOrder.LITTLE_ENDIAN);
        TermiosEntry.Builder t = TermiosEntry.newBuilder().setCIflag(b.getInt(0)).setCOflag(b.getInt(4)).setCCflag(b.getInt(8))
                .setCLflag(b.getInt(12)).setCLine(k[16] & 0xff).setCIspeed(0).setCOspeed(0);
        for (int i = 0; i < NCC; i++) t.addCCc(k[17 + i] & 0xff);
        return t.build();
    }

    static byte[] kernel(TermiosEntry t) {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(t.getCIflag()).putInt(t.getCOflag()).putInt(t.getCCflag()).putInt(t.getCLflag()).put((byte) t.getCLine());
        for (int i = 0; i < NCC; i++) b.put((byte) (i < t.getCCcCount() ? t.getCCc(i) : 0));
        return b.array();
    }

    static WinsizeEntry winsize(byte[] k) {
        ByteBuffer b = ByteBuffer.wrap(k).order(ByteOrder.LITTLE_ENDIAN);
        return WinsizeEntry.newBuilder().setWsRow(b.getShort(0) & 0xffff).setWsCol(b.getShort(2) & 0xffff)
                .setWsXpixel(b.getShort(4) & 0xffff).setWsYpixel(b.getShort(6) & 0xffff).build();
    }

    static byte[] kernel(WinsizeEntry w) {
        return ByteBuffer.allocate(WINSIZE_SIZE).order(ByteOrder.LITTLE_ENDIAN).putShort((short) w.getWsRow())
                .putShort((short) w.getWsCol()).putShort((short) w.getWsXpixel()).putShort((short) w.getWsYpixel()).array();
    }
}

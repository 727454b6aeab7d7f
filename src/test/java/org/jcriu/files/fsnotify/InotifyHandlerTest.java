package org.jcriu.files.fsnotify;

import static org.junit.jupiter.api.Assertions.*;

import org.jcriu.image.proto.InotifyWdEntry;
import org.junit.jupiter.api.Test;

class InotifyHandlerTest {
    @Test
    void watchLineAsTheKernelPrintsIt() {
        String fdinfo = "pos:\t0\nflags:\t04000\n"
                + "inotify wd:1 ino:3f7e8 sdev:fe00000 mask:102 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e8f7030000000000\n";
        var l = InotifyHandler.parse(fdinfo);
        assertEquals(1, l.size());
        InotifyWdEntry w = l.get(0).build();
        assertEquals(1, w.getWd());
        assertEquals(0x3f7e8, w.getIIno());
        assertEquals(0xfe00000, w.getSDev());
        assertEquals(0x102, w.getMask());
        assertEquals(8, w.getFHandle().getBytes());
        assertEquals(1, w.getFHandle().getType());
        assertEquals(16, w.getFHandle().getHandleCount(), "CRIU writes at least 16 words");
        assertEquals(0x3f7e8L, w.getFHandle().getHandle(0));
        assertArrayEquals(Handles.hex("e8f7030000000000"), Handles.bytes(w.getFHandle()));
    }

    @Test
    void inodeMarksOfInotifyAndFanotifyForTheIrmapPreDump() {
        String ino = "pos:\t0\nflags:\t04000\n"
                + "inotify wd:1 ino:3f7e8 sdev:fe00000 mask:102 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e8f7030000000000\n";
        String fan = "pos:\t0\nflags:\t02\nfanotify flags:10 event-flags:0\n"
                + "fanotify mnt_id:1b mflags:0 mask:1 ignored_mask:0\n"
                + "fanotify ino:1234 sdev:fe00000 mflags:0 mask:2 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:3412000000000000\n";
        var a = InotifyHandler.inodeMarks(ino);
        assertEquals(1, a.size());
        assertEquals(0x3f7e8, a.get(0).ino());
        var b = InotifyHandler.inodeMarks(fan);
        assertEquals(1, b.size(), "the mount mark has no inode");
        assertEquals(0x1234, b.get(0).ino());
        assertEquals(0xfe00000, b.get(0).sdev());
        assertArrayEquals(Handles.hex("3412000000000000"), Handles.bytes(b.get(0).handle()));
    }
}

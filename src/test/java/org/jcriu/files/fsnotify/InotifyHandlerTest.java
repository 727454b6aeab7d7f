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
}

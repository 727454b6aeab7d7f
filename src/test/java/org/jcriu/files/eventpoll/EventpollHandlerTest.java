package org.jcriu.files.eventpoll;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.jcriu.image.proto.EventpollTfdEntry;
import org.junit.jupiter.api.Test;

class EventpollHandlerTest {
    @Test
    void tfdLinesAsTheKernelPrintsThem() {
        String fdinfo = "pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1038\n"
                + "tfd:        3 events: 80000019 data:             1234  pos:0 ino:40e sdev:10\n"
                + "tfd:       11 events:       19 data: ffffffffffffffff  pos:0 ino:3ed85 sdev:f\n";
        List<EventpollTfdEntry> l = EventpollHandler.parse(fdinfo);
        assertEquals(2, l.size());
        EventpollTfdEntry a = l.get(0), b = l.get(1);
        assertEquals(3, a.getTfd());
        assertEquals(0x80000019, a.getEvents());
        assertEquals(0x1234, a.getData());
        assertEquals(0x40e, a.getInode());
        assertEquals(0x10, a.getDev());
        assertEquals(0, a.getPos());
        assertEquals(11, b.getTfd());
        assertEquals(-1L, b.getData());
        assertEquals(0x3ed85, b.getInode());
    }
}

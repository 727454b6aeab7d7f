package org.jcriu.files;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jcriu.image.Fixtures;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.opts.Options;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What jcriu writes for each anonymous-inode kind has the shape of what CRIU 4.2 wrote in the
 * sink fixture: the same fields present, at every level (values differ: other process, other
 * time). The files are made in this JVM and dumped by the handlers from /proc/self.
 */
class AnonFixtureTest {
    @TempDir Path tmp;
    private final List<Integer> opened = new ArrayList<>();

    @AfterEach
    void closeAll() {
        for (int fd : opened) Sys.close(fd);
    }

    private int keep(long fd) {
        opened.add((int) fd);
        return (int) fd;
    }

    private static Map<FdTypes, FileEntry> fixture() {
        Path root = Fixtures.root();
        assumeTrue(root != null, "no CRIU 4.2 fixtures");
        Map<FdTypes, FileEntry> out = new TreeMap<>();
        try (ImageReader r = new ImageDir(root.resolve("sink")).open(ImageType.FILES)) {
            FileEntry e;
            while ((e = r.read(FileEntry.parser())) != null) out.putIfAbsent(e.getType(), e);
        }
        return out;
    }

    /** Field names present in {@code m}, recursively ("tfd.events", ...), first element of repeated fields. */
    static List<String> shape(Message m, String prefix) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<FieldDescriptor, Object> f : m.getAllFields().entrySet()) {
            String name = prefix + f.getKey().getName();
            out.add(name);
            Object v = f.getKey().isRepeated() ? ((List<?>) f.getValue()).get(0) : f.getValue();
            if (v instanceof Message sub) out.addAll(shape(sub, name + "."));
        }
        out.sort(null);
        return out;
    }

    private FileEntry dumpOwn(int fd) {
        OpenFd o = DumpFiles.scan(Sys.getpid()).stream().filter(x -> x.fd() == fd).findFirst().orElseThrow();
        DumpFiles files = new DumpFiles(new Options());
        return FileHandlers.classify(o, new Options()).dump(o, 7, files);
    }

    private void sameShape(FdTypes type, int fd) {
        FileEntry theirs = fixture().get(type);
        assertNotNull(theirs, type + " not in the sink fixture");
        FileEntry ours = dumpOwn(fd);
        assertEquals(type, ours.getType());
        assertEquals(shape(theirs, ""), shape(ours, ""), type.toString());
    }

    @Test
    void eventfd() {
        sameShape(FdTypes.EVENTFD, keep(Sys.check("eventfd2", Nr.EVENTFD2, 42, Linux.O_NONBLOCK)));
    }

    @Test
    void timerfd() {
        int fd = keep(Sys.check("timerfd_create", Nr.TIMERFD_CREATE, 1, 0));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment its = a.allocate(32, 8);
            its.set(JAVA_LONG, 0, 5);
            its.set(JAVA_LONG, 16, 100);
            Sys.check("timerfd_settime", Nr.TIMERFD_SETTIME, fd, 0, its.address(), 0);
        }
        sameShape(FdTypes.TIMERFD, fd);
    }

    @Test
    void signalfd() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mask = a.allocate(8, 8);
            mask.set(JAVA_LONG, 0, 1L << 11);
            sameShape(FdTypes.SIGNALFD, keep(Sys.check("signalfd4", Nr.SIGNALFD4, -1, mask.address(), 8, 0)));
        }
    }

    @Test
    void epoll() {
        int ep = keep(Sys.check("epoll_create1", Nr.EPOLL_CREATE1, 0));
        int efd = keep(Sys.check("eventfd2", Nr.EVENTFD2, 1, 0));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ev = a.allocate(12, 4);
            ev.set(JAVA_INT, 0, 1);
            ev.set(JAVA_INT, 4, 7);
            Sys.check("epoll_ctl", Nr.EPOLL_CTL, ep, 1, efd, ev.address());
        }
        sameShape(FdTypes.EVENTPOLL, ep);
    }

    @Test
    void inotify() {
        int in = keep(Sys.check("inotify_init1", Nr.INOTIFY_INIT1, 0));
        try (Arena a = Arena.ofConfined()) {
            Sys.check("inotify_add_watch", Nr.INOTIFY_ADD_WATCH, in, a.allocateFrom(tmp.toString()).address(), 0x300);
        }
        FileEntry ours = dumpOwn(in);
        assertEquals(tmp.toString(), ours.getIfy().getWd(0).getFHandle().getPath());
        sameShape(FdTypes.INOTIFY, in);
    }

    @Test
    void memfd() {
        int m;
        try (Arena a = Arena.ofConfined()) {
            m = keep(Sys.check("memfd_create", Nr.MEMFD_CREATE, a.allocateFrom("fixture-memfd").address(), 2));
            MemorySegment b = a.allocateFrom("memfd!");
            Sys.write(m, b, 6);
        }
        sameShape(FdTypes.MEMFD, m);
    }
}

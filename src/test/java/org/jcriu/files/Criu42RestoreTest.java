package org.jcriu.files;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jcriu.compel.Task;
import org.jcriu.compel.Tracer;
import org.jcriu.image.Fixtures;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FdinfoEntry;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.InotifyFileEntry;
import org.jcriu.opts.Options;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;
import org.jcriu.testing.TracedChildren;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The anonymous-inode files CRIU 4.2 wrote in the sink fixture, opened by jcriu's handlers in a
 * real (seized) process: its pipe, eventfd, timerfd, signalfd, epoll, inotify and memfd fds, at
 * their numbers, then checked in /proc/PID/fdinfo. The sink as a whole cannot be restored here
 * (threads, sockets); only the inotify watch is moved to a directory that exists on this machine.
 */
class Criu42RestoreTest {
    @TempDir Path tmp;
    @RegisterExtension
    final TracedChildren children = new TracedChildren();
    private final Tracer tracer = children.tracer();

    /** fd number in the sink task -> file id, for the kinds this test restores. */
    private static final Map<Integer, Integer> FDS = Map.of(3, 7, 11, 15, 12, 16, 13, 17, 14, 18, 15, 19, 21, 25);

    @Test
    void sinkFilesOpenInARealTask() throws Exception {
        Path root = Fixtures.root();
        assumeTrue(root != null, "no CRIU 4.2 fixtures");
        Path sink = root.resolve("sink");
        Path watched = Files.createDirectories(tmp.resolve("sink-dir"));
        Path imgs = Files.createDirectories(tmp.resolve("imgs"));
        for (String f : List.of("memfd.img", "pagemap-shmem-4509.img", "pages-2.img", "pipes-data.img")) {
            Files.copy(sink.resolve(f), imgs.resolve(f));
        }
        ImageDir dir = new ImageDir(imgs);
        try (ImageReader r = new ImageDir(sink).open(ImageType.FILES); ImageWriter w = dir.create(ImageType.FILES)) {
            FileEntry e;
            while ((e = r.read(FileEntry.parser())) != null) {
                if (!FDS.containsValue(e.getId())) continue;
                if (e.getType() == FdTypes.INOTIFY) {
                    InotifyFileEntry.Builder i = e.getIfy().toBuilder();
                    i.getWdBuilder(0).getFHandleBuilder().setPath(watched.toString());
                    e = e.toBuilder().setIfy(i).build();
                }
                w.write(e);
            }
        }
        try (ImageWriter w = dir.create(ImageType.FDINFO, 1)) {
            for (var fd : new java.util.TreeMap<>(FDS).entrySet()) {
                w.write(FdinfoEntry.newBuilder().setId(fd.getValue()).setFlags(0).setType(FdTypes.UND).setFd(fd.getKey()).build());
            }
        }
        int pid = children.spawnSleep();
        FileRestorer files = new FileRestorer(dir, new Options());
        tracer.run(() -> {
            Task t = Task.seize(tracer, pid);
            try {
                files.restoreFds(t, 1);
            } finally {
                t.detach();
            }
        });
        assertEquals("anon_inode:[eventfd]", link(pid, 11));
        String efd = fdinfo(pid, 11);
        assertTrue(efd.matches("(?s).*eventfd-count:\\s+2a\\n.*"), efd);
        assertTrue(efd.matches("(?s).*flags:\\s+04002\\n.*"), efd);
        String tfd = fdinfo(pid, 12);
        assertTrue(tfd.contains("clockid: 1\n") && tfd.contains("it_interval: (5, 0)"), tfd);
        assertTrue(tfd.matches("(?s).*it_value: \\(9[78], \\d+\\).*"), "98 s left at dump: " + tfd);
        assertTrue(fdinfo(pid, 13).matches("(?s).*sigmask:\\s+0000000000000800\\n.*"), fdinfo(pid, 13));
        String ep = fdinfo(pid, 14);
        assertTrue(ep.matches("(?s).*tfd:\\s+3 events:\\s+19 data:\\s+7 .*"), ep);
        assertTrue(ep.matches("(?s).*tfd:\\s+11 events:\\s+19 data:\\s+7 .*"), ep);
        assertTrue(fdinfo(pid, 15).matches("(?s).*inotify wd:1 ino:[0-9a-f]+ sdev:[0-9a-f]+ mask:300 .*"), fdinfo(pid, 15));
        assertEquals("/memfd:fixture-memfd (deleted)", link(pid, 21));
        assertTrue(fdinfo(pid, 21).matches("(?s)pos:\\s+6\\n.*"), fdinfo(pid, 21));
        assertEquals("memfd!", Files.readString(Path.of("/proc/" + pid + "/fd/21")));
        assertEquals("pipe-data", new String(org.jcriu.files.pipe.PipeData.peek(pid, 3).bytes()));
    }

    private static String link(int pid, int fd) throws Exception {
        return Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)).toString();
    }

    private static String fdinfo(int pid, int fd) throws Exception {
        return Files.readString(Path.of("/proc/" + pid + "/fdinfo/" + fd));
    }
}

package org.jcriu.files.eventpoll;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jcriu.CriuException;
import org.jcriu.files.AnonFd;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.FileHandler;
import org.jcriu.files.FileRestorer;
import org.jcriu.files.OpenFd;
import org.jcriu.files.Opening;
import org.jcriu.image.proto.EventpollFileEntry;
import org.jcriu.image.proto.EventpollTfdEntry;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * epoll: every watched fd with its events and data, from the fdinfo "tfd:" lines, written into
 * the eventpoll_file_entry as CRIU 4.2 does (not the old eventpoll-tfd.img). The kernel names a
 * watched file by the fd number it was added with; the dump checks with kcmp(KCMP_EPOLL_TFD)
 * that this fd still holds that file, since a watch outlives the close of its fd while another
 * fd keeps the file open (then that other fd stands for it). Restore waits until every watched fd is in place
 * ({@link Opening.NotYet}), then adds them with epoll_ctl; the kernel polls each file on
 * EPOLL_CTL_ADD, so level-triggered readiness comes back by itself.
 */
public final class EventpollHandler implements FileHandler {
    private static final Logger LOG = Log.get("epoll");
    private static final int KCMP_EPOLL_TFD = 7, EPOLL_CTL_ADD = 1;

    @Override
    public FdTypes type() {
        return FdTypes.EVENTPOLL;
    }

    @Override
    public String name() {
        return "epoll";
    }

    /** The "tfd:" lines of an epoll's fdinfo: "tfd: N events: HEX data: HEX pos:N ino:HEX sdev:HEX". */
    static List<EventpollTfdEntry> parse(String fdinfo) {
        List<EventpollTfdEntry> out = new ArrayList<>();
        for (String line : fdinfo.split("\n")) {
            if (!line.startsWith("tfd:")) continue;
            String[] w = line.substring(4).strip().split("\\s+");
            EventpollTfdEntry.Builder b = EventpollTfdEntry.newBuilder().setId(0).setTfd(Integer.parseInt(w[0]));
            for (int i = 1; i < w.length; i++) {
                String k = w[i], v;
                int colon = k.indexOf(':');
                if (colon < k.length() - 1) {
                    v = k.substring(colon + 1);
                    k = k.substring(0, colon);
                } else {
                    k = k.substring(0, colon);
                    v = w[++i];
                }
                switch (k) {
                    case "events" -> b.setEvents((int) Long.parseLong(v, 16));
                    case "data" -> b.setData(Long.parseUnsignedLong(v, 16));
                    case "pos" -> b.setPos(Long.parseLong(v));
                    case "ino" -> b.setInode(Long.parseLong(v, 16));
                    case "sdev" -> b.setDev((int) Long.parseLong(v, 16));
                    default -> { }
                }
            }
            out.add(b.build());
        }
        return out;
    }

    @Override
    public FileEntry dump(OpenFd fd, int id, DumpFiles files) {
        List<EventpollTfdEntry> tfds = new ArrayList<>();
        for (EventpollTfdEntry t : parse(fd.info().text())) {
            int holder = holder(fd, t.getTfd());
            if (holder != t.getTfd()) {
                LOG.info("epoll id %#x: watched fd %d is closed, its file is fd %d now", id, t.getTfd(), holder);
                t = t.toBuilder().setTfd(holder).build();
            }
            tfds.add(t);
        }
        LOG.info("Dumping id %#x flags %#x with %d watched fds", id, fd.fileFlags(), tfds.size());
        EventpollFileEntry e = EventpollFileEntry.newBuilder().setId(id).setFlags(fd.fileFlags()).setFown(AnonFd.NO_OWNER)
                .addAllTfd(tfds).build();
        return FileEntry.newBuilder().setType(FdTypes.EVENTPOLL).setId(id).setEpfd(e).build();
    }

    /**
     * An fd of the task that holds the file watched as {@code tfd}: {@code tfd} itself unless it
     * was closed (or reused) while another fd keeps the file open; then that fd, and the restored
     * watch is added under its number (the kernel keys watches by file and fd, events carry the
     * data only, so the program sees the same events).
     */
    private static int holder(OpenFd ep, int tfd) {
        if (sameFile(ep, tfd, tfd)) return tfd;
        for (String n : fds(ep.pid())) {
            int cand = Integer.parseInt(n);
            if (cand != ep.fd() && sameFile(ep, cand, tfd)) return cand;
        }
        throw new CriuException("Can't dump " + ep.describe() + ": it watches a file added as fd " + tfd
                + ", which is closed, and no other fd of the task holds that file");
    }

    private static String[] fds(int pid) {
        String[] l = new java.io.File("/proc/" + pid + "/fd").list();
        return l == null ? new String[0] : l;
    }

    /** kcmp(KCMP_EPOLL_TFD): is fd {@code cand} of the task the file the epoll watches as {@code tfd}? */
    private static boolean sameFile(OpenFd ep, int cand, int tfd) {
        if (!Files.exists(Path.of("/proc/" + ep.pid() + "/fd/" + cand), java.nio.file.LinkOption.NOFOLLOW_LINKS)) return false;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment slot = a.allocate(12, 4);
            slot.set(JAVA_INT, 0, ep.fd());
            slot.set(JAVA_INT, 4, tfd);
            slot.set(JAVA_INT, 8, 0);
            return Sys.raw(Nr.KCMP, ep.pid(), ep.pid(), KCMP_EPOLL_TFD, cand, slot.address()) == 0;
        }
    }

    @Override
    public int open(FileEntry fe, FileRestorer r) {
        if (tryOpen(fe, r) instanceof Opening.Opened o) return o.fd();
        throw new CriuException("epoll id " + fe.getId() + ": its watched fds are not open yet");
    }

    @Override
    public Opening tryOpen(FileEntry fe, FileRestorer r) {
        EventpollFileEntry e = fe.getEpfd();
        for (EventpollTfdEntry t : e.getTfdList()) {
            if (!r.installed(t.getTfd())) return new Opening.NotYet("fd " + t.getTfd() + " (watched by the epoll)");
        }
        var task = r.task();
        int ep = (int) task.syscall(Nr.EPOLL_CREATE1, 0);
        for (EventpollTfdEntry t : e.getTfdList()) {
            // struct epoll_event is packed on x86_64: u32 events, u64 data.
            byte[] ev = AnonFd.le(new int[] {4, 8}, t.getEvents() & 0xffffffffL, t.getData());
            try {
                AnonFd.withStruct(task, ev, Nr.EPOLL_CTL, 3, ep, EPOLL_CTL_ADD, t.getTfd(), 0);
            } catch (CriuException ex) {
                throw new CriuException(ex.errno(), "epoll_ctl(ADD fd " + t.getTfd() + ", events " + Integer.toHexString(t.getEvents())
                        + "): " + ex.getMessage(), ex);
            }
        }
        AnonFd.fileFlags(task, ep, e.getFlags() & Linux.O_NONBLOCK);
        return new Opening.Opened(ep);
    }
}

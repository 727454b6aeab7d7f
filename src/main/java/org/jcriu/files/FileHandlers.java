package org.jcriu.files;

import java.util.List;
import java.util.function.Predicate;
import org.jcriu.CriuException;
import org.jcriu.files.eventfd.EventfdHandler;
import org.jcriu.files.eventpoll.EventpollHandler;
import org.jcriu.files.fsnotify.FanotifyHandler;
import org.jcriu.files.fsnotify.InotifyHandler;
import org.jcriu.files.memfd.MemfdHandler;
import org.jcriu.files.pidfd.PidfdHandler;
import org.jcriu.files.pipe.PipeHandler;
import org.jcriu.files.signalfd.SignalfdHandler;
import org.jcriu.files.timerfd.TimerfdHandler;
import org.jcriu.files.reg.RegFileHandler;
import org.jcriu.files.tty.TtyHandler;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.opts.Options;
import org.jcriu.sys.Stat;

/**
 * The ordered handler registry and the table that classifies an open fd. The first row whose
 * test matches decides; an fd no row matches fails the dump naming the fd, its link and task.
 */
public final class FileHandlers {
    public static final RegFileHandler REG = new RegFileHandler();
    public static final PipeHandler PIPE = new PipeHandler();
    public static final TtyHandler TTY = new TtyHandler();
    public static final EventfdHandler EVENTFD = new EventfdHandler();
    public static final EventpollHandler EVENTPOLL = new EventpollHandler();
    public static final SignalfdHandler SIGNALFD = new SignalfdHandler();
    public static final TimerfdHandler TIMERFD = new TimerfdHandler();
    public static final InotifyHandler INOTIFY = new InotifyHandler();
    public static final FanotifyHandler FANOTIFY = new FanotifyHandler();
    public static final MemfdHandler MEMFD = new MemfdHandler();
    public static final PidfdHandler PIDFD = new PidfdHandler();

    public static final org.jcriu.files.unix.UnixSkHandler UNIXSK = new org.jcriu.files.unix.UnixSkHandler();
    public static final org.jcriu.files.fifo.FifoHandler FIFO = new org.jcriu.files.fifo.FifoHandler();

    /** Every handler, for lookups by image type. */
    public static final List<FileHandler> ALL = List.of(REG, PIPE, TTY, EVENTFD, EVENTPOLL, SIGNALFD, TIMERFD, INOTIFY, FANOTIFY, MEMFD,
            PIDFD, UNIXSK, FIFO);

    private record Rule(String what, Predicate<OpenFd> test, FileHandler handler) {}

    // mem character devices (major 1: null, zero, full, random, urandom, kmsg...) carry no state
    // worth saving and are reopened by path, as CRIU does; terminals have their own handler.
    private static final List<Rule> TABLE = List.of(
            new Rule("regular file", fd -> fd.stat().isReg() && !fd.link().endsWith(" (deleted)"), REG),
            new Rule("directory", fd -> fd.stat().isDir() && !fd.link().endsWith(" (deleted)"), REG),
            new Rule("memory character device", fd -> fd.stat().isChr() && Stat.major(fd.stat().rdev()) == 1, REG),
            new Rule("terminal", fd -> fd.stat().isChr() && TtyHandler.isTerminal(fd.stat().rdev()), TTY),
            new Rule("pipe", fd -> fd.stat().isFifo() && fd.link().startsWith("pipe:["), PIPE),
            new Rule("named FIFO", fd -> fd.stat().isFifo() && fd.link().startsWith("/") && !fd.link().endsWith(" (deleted)"), FIFO),
            // its reg file is a ghost FIFO, re-created by the restore and unlinked again
            new Rule("unlinked named FIFO", fd -> fd.stat().isFifo() && RegFileHandler.isGhost(fd), FIFO),
            new Rule("unix socket", org.jcriu.files.unix.UnixSkHandler::isUnix, UNIXSK),
            new Rule("memfd", MemfdHandler::isMemfd, MEMFD),
            // after memfd, whose links also end in " (deleted)"
            new Rule("unlinked regular file", fd -> fd.stat().isReg() && RegFileHandler.isGhost(fd), REG),
            new Rule("removed directory", fd -> fd.stat().isDir() && RegFileHandler.isGhost(fd), REG),
            // another hard link still exists: dumped through a link made for it (--link-remap)
            new Rule("unlinked regular file with other links", RegFileHandler::isLinkRemap, REG),
            // anonymous inodes are told apart by the name their link shows
            new Rule("eventfd", fd -> fd.link().equals("anon_inode:[eventfd]"), EVENTFD),
            new Rule("epoll", fd -> fd.link().equals("anon_inode:[eventpoll]"), EVENTPOLL),
            new Rule("signalfd", fd -> fd.link().equals("anon_inode:[signalfd]"), SIGNALFD),
            new Rule("timerfd", fd -> fd.link().equals("anon_inode:[timerfd]"), TIMERFD),
            new Rule("inotify", fd -> fd.link().equals("anon_inode:inotify"), INOTIFY),
            new Rule("fanotify", fd -> fd.link().equals("anon_inode:[fanotify]"), FANOTIFY),
            new Rule("pidfd", fd -> fd.link().equals("anon_inode:[pidfd]"), PIDFD));

    private FileHandlers() {}

    /** The handler for {@code fd}, or a CriuException naming what is not supported. */
    public static FileHandler classify(OpenFd fd, Options opts) {
        for (Rule r : TABLE) {
            if (r.test().test(fd)) {
                String refused = r.handler() == TTY ? TtyHandler.refusal(fd, opts) : null;
                if (refused != null) throw new CriuException(refused);
                if (r.handler() == REG && RegFileHandler.isLinkRemap(fd) && !opts.linkRemap) {
                    throw new CriuException("Can't dump " + fd.describe() + ": the file was unlinked but has "
                            + fd.stat().nlink() + " other hard link(s); dump with --link-remap to link it back at restore");
                }
                return r.handler();
            }
        }
        throw new CriuException("Can't dump " + fd.describe() + ": " + kind(fd) + " is not supported");
    }

    public static FileHandler byType(FdTypes t) {
        for (FileHandler h : ALL) if (h.type() == t) return h;
        throw new CriuException("no handler for files of type " + t);
    }

    private static String kind(OpenFd fd) {
        String l = fd.link();
        if (l.endsWith(" (deleted)") && fd.stat().isDir()) return "an unlinked directory";
        if (l.endsWith(" (deleted)") && fd.stat().isFifo()) return "an unlinked named FIFO";
        if (l.endsWith(" (deleted)")) return "an unlinked file";
        if (l.startsWith("socket:")) return "a socket";
        if (l.startsWith("anon_inode:")) return "an anonymous inode (" + l.substring(11) + ")";
        if (fd.stat().isFifo()) return "a named FIFO";
        if (fd.stat().isChr()) return "character device " + Stat.major(fd.stat().rdev()) + ":" + Stat.minor(fd.stat().rdev());
        if (fd.stat().type() == org.jcriu.sys.Linux.S_IFBLK) return "a block device";
        return "this kind of file";
    }
}

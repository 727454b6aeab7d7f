package org.jcriu.predump;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.proc.Stat;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * Holds a task's write-tracking uffd between two jcriu runs (a pre-dump and the next dump):
 * the registration lives only while some process has the fd open. The keeper is
 * {@code tail -f /dev/null --pid=PID}, spawned with the uffd as its stdin: it reads nothing, holds
 * the fd, and exits by itself within a second of the task's exit, so a pre-dump never followed
 * by a dump costs the task nothing once it is gone. Its pid and start time go to
 * {@code jcriu-uffd-wp-PID} in the pre-dump's images dir (not a CRIU image; CRIU and crit ignore
 * it); the next (pre-)dump naming that dir as parent takes the uffd with pidfd_getfd, kills the
 * keeper and removes the file. A keeper that is gone (killed, or the machine rebooted) or whose
 * pid is now another process's is noticed by its start time and the link of its fd 0: the dump
 * then compares pages, as without a tracker.
 */
final class Keeper {
    private static final Logger LOG = Log.get("predump");
    static final String PREFIX = "jcriu-uffd-wp-";
    private static final String NAME = "jcriu-uffd-wp";
    private static final String UFFD_LINK = "anon_inode:[userfaultfd]";

    private Keeper() {}

    private static List<String> argv(int pid) {
        return List.of(NAME, "-f", "/dev/null", "--pid=" + pid, "-s", "1");
    }

    static Path record(ImageDir dir, int pid) {
        return dir.dir().resolve(PREFIX + pid);
    }

    /**
     * Hands {@code t}'s uffd to a new keeper and names it in {@code dir}; {@code t} no longer
     * holds it afterwards. Returns false (logged; {@code t} closed, the task untracked) when no
     * keeper could be started.
     */
    static boolean keep(WriteTracker t, ImageDir dir) {
        String tail = Files.isExecutable(Path.of("/usr/bin/tail")) ? "/usr/bin/tail" : "/bin/tail";
        int devNull = Sys.open("/dev/null", Linux.O_RDWR | Linux.O_CLOEXEC, 0);
        int k;
        try {
            k = Sys.posixSpawn(tail, argv(t.pid()), List.of(),
                    new int[] {t.fd(), devNull, devNull}, true);
        } catch (CriuException e) {
            LOG.warn("task %d: can't start a keeper for its write tracking (%s): the next dump compares its pages", t.pid(), e.getMessage());
            t.close();
            return false;
        } finally {
            Sys.close(devNull);
        }
        StringBuilder sb = new StringBuilder();
        sb.append("keeper ").append(k).append(' ').append(Stat.read(k).startTime()).append('\n');
        sb.append("task ").append(t.pid()).append(' ').append(Stat.read(t.pid()).startTime()).append('\n');
        for (long[] r : t.registered()) sb.append("range ").append(Long.toHexString(r[0])).append(' ').append(Long.toHexString(r[1])).append('\n');
        try {
            Files.writeString(record(dir, t.pid()), sb);
        } catch (IOException e) {
            t.close();
            kill(k);
            LOG.warn("task %d: can't write %s (%s): write tracking ends", t.pid(), record(dir, t.pid()), e.getMessage());
            return false;
        }
        t.release();
        LOG.info("task %d: write tracking held by keeper %d until the next dump", t.pid(), k);
        return true;
    }

    /**
     * The uffd a keeper holds for {@code pid} since the images in {@code parent} were written, or
     * null (logged) when there is none or it cannot be trusted. The keeper is killed and its
     * record removed: from now on this run holds the registration.
     */
    static WriteTracker adopt(ImageDir parent, int pid) {
        Path rec = record(parent, pid);
        if (!Files.exists(rec)) return null;
        int keeper = -1;
        long keeperStart = -1, taskStart = -1;
        List<long[]> ranges = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(rec)) {
                String[] f = line.trim().split(" ");
                switch (f[0]) {
                    case "keeper" -> {
                        keeper = Integer.parseInt(f[1]);
                        keeperStart = Long.parseLong(f[2]);
                    }
                    case "task" -> {
                        if (Integer.parseInt(f[1]) != pid) throw new NumberFormatException("task " + f[1]);
                        taskStart = Long.parseLong(f[2]);
                    }
                    case "range" -> ranges.add(new long[] {Long.parseUnsignedLong(f[1], 16), Long.parseUnsignedLong(f[2], 16)});
                    default -> { }
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("%s is unreadable (%s): pages of task %d are compared instead", rec, e.getMessage(), pid);
            return null;
        }
        String why = check(keeper, keeperStart, pid, taskStart);
        if (why != null) {
            LOG.info("task %d: no write tracking since %s (%s): its pages are compared", pid, parent.dir(), why);
            delete(rec);
            return null;
        }
        int fd;
        int pidfd = Sys.pidfdOpen(keeper);
        try {
            fd = Sys.pidfdGetfd(pidfd, 0);
            // pidfd_send_signal: the signal reaches this keeper even if its pid were reused meanwhile
            ErrnoException.check(Sys.raw(Nr.PIDFD_SEND_SIGNAL, pidfd, Linux.SIGKILL, 0, 0), "pidfd_send_signal(keeper " + keeper + ")");
        } finally {
            Sys.close(pidfd);
        }
        reapIfOurs(keeper);
        delete(rec);
        LOG.info("task %d: write tracking taken from keeper %d (%d areas)", pid, keeper, ranges.size());
        return WriteTracker.adopted(pid, fd, ranges);
    }

    private static String check(int keeper, long keeperStart, int pid, long taskStart) {
        if (keeper <= 0 || taskStart < 0) return "incomplete record";
        try {
            if (Stat.read(pid).startTime() != taskStart) return "task " + pid + " is another process now";
            Stat ks = Stat.read(keeper);
            if (ks.startTime() != keeperStart || ks.state() == 'Z') return "keeper " + keeper + " is gone";
            String link = Sys.readlink("/proc/" + keeper + "/fd/0");
            if (!UFFD_LINK.equals(link)) return "keeper " + keeper + " holds no userfaultfd";
            // the uffd must be the one made in this task: a keeper jcriu started for it says so in
            // its argv (nothing tells which mm a uffd belongs to from outside)
            String cmdline = new String(Files.readAllBytes(Path.of("/proc/" + keeper + "/cmdline")), java.nio.charset.StandardCharsets.UTF_8);
            if (!cmdline.equals(String.join("\0", argv(pid)) + "\0")) return "process " + keeper + " is not jcriu's keeper of task " + pid;
        } catch (CriuException | IOException e) {
            return "keeper " + keeper + " is gone";
        }
        return null;
    }

    /** A keeper this JVM spawned (an RPC session running pre-dump and dump) is its child: reap it. */
    private static void reapIfOurs(int keeper) {
        try {
            if (Stat.read(keeper).ppid() == Sys.getpid()) Sys.waitpid(keeper, 0);
        } catch (CriuException e) {
            // gone already, or reaped by someone else
        }
    }

    private static void kill(int k) {
        try {
            Sys.kill(k, Linux.SIGKILL);
            reapIfOurs(k);
        } catch (CriuException e) {
            // gone already
        }
    }

    private static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.debug("could not remove %s: %s", p, e.getMessage());
        }
    }
}

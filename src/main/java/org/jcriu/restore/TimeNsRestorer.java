package org.jcriu.restore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.jcriu.CriuException;
import org.jcriu.compel.Task;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.InventoryEntry;
import org.jcriu.image.proto.TimensEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.ns.TimeNs;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;

/**
 * Puts a restored tree back in a time namespace of its own when it was dumped in one (the root's
 * time_ns_id differs from jcriu's in the inventory's root_ids, as CRIU decides): CLOCK_MONOTONIC
 * and CLOCK_BOOTTIME then carry on from the values dumped in timens-ID.img, whatever happened to
 * the host's clocks in between (a reboot, another machine, or just the seconds between dump and
 * restore).
 *
 * <p>The kernel accepts offsets only for a namespace no task has entered yet, and
 * unshare(CLONE_NEWTIME) moves only the caller's future children there. So, as CRIU's
 * prepare_timens does in its root task: the root (a fresh single-threaded clone, before it has
 * children or memory of its own) unshares, jcriu writes the offsets to its
 * /proc/PID/timens_offsets (the namespace for its children), and the root joins that namespace
 * with setns on its own ns/time_for_children (allowed for a single-threaded task). Every task
 * cloned from it later is born in it. The offsets are taken against the host clocks at that
 * moment, so the restored clocks advance by the time the rest of the restore takes, not by the
 * time between dump and restore.
 *
 * <p>A tree dumped in jcriu's own time namespace stays in the restoring jcriu's namespace (CRIU
 * would put it in a new one built from timens-0.img; see docs/process-trees.md).
 */
final class TimeNsRestorer {
    private static final Logger LOG = Log.get("timens");
    private static final long NR_UNSHARE = 272;

    private final int nsId;
    private final TimensEntry clocks;

    private TimeNsRestorer(int nsId, TimensEntry clocks) {
        this.nsId = nsId;
        this.clocks = clocks;
    }

    /**
     * The time namespace the tree needs, or null for jcriu's own. Fails, before anything is
     * created, for a task in another time namespace than the root (CRIU: "Can't restore sub-task
     * in NS") or a missing timens-ID.img.
     */
    static TimeNsRestorer load(ImageDir dir, TreeImages tree) {
        InventoryEntry inv;
        try (ImageReader r = dir.open(ImageType.INVENTORY)) {
            inv = r.readOne(InventoryEntry.parser());
        }
        TaskImages root = tree.root();
        int rootNs = root.ids().getTimeNsId();
        for (TaskImages t : tree.live()) {
            if (t.ids().getTimeNsId() != rootNs) {
                throw new CriuException(dir.path(ImageType.IDS, t.pid()) + ": task " + t.pid() + " is in time namespace "
                        + t.ids().getTimeNsId() + ", the root task " + root.pid() + " in " + rootNs
                        + "; a time namespace nested in the tree is not supported");
            }
        }
        if (!root.ids().hasTimeNsId() || !inv.hasRootIds() || rootNs == inv.getRootIds().getTimeNsId()) return null;
        TimensEntry e;
        try (ImageReader r = dir.open(ImageType.TIMENS, rootNs)) {
            e = r.readOne(TimensEntry.parser());
        }
        return new TimeNsRestorer(rootNs, e);
    }

    /** Moves {@code root}, single-threaded and childless yet, into a new time namespace set to the dumped clocks. */
    void enter(Task root) {
        int pid = root.tid();
        try {
            root.syscall(NR_UNSHARE, Linux.CLONE_NEWTIME);
            String offsets = TimeNs.offsetsFor(clocks);
            write(Path.of("/proc/" + pid + "/timens_offsets"), offsets);
            int fd = Remote.open(root, "/proc/self/ns/time_for_children", Linux.O_RDONLY);
            try {
                root.syscall(Nr.SETNS, fd, Linux.CLONE_NEWTIME);
            } finally {
                Remote.close(root, fd);
            }
            LOG.info("task %d in a new time namespace (timens-%d.img: monotonic %d.%09d), offsets %s", pid, nsId,
                    clocks.getMonotonic().getTvSec(), clocks.getMonotonic().getTvNsec(), offsets.strip().replace('\n', ','));
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't put task " + pid + " in a new time namespace (timens-" + nsId + ".img): "
                    + e.getMessage(), e);
        }
        if (!TimeNs.own(pid)) throw new CriuException("Task " + pid + " is still in jcriu's time namespace after setns");
    }

    /** One write(2): the kernel parses the whole buffer of one write as the list of offsets. */
    private static void write(Path p, String text) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
            int n = ch.write(b);
            if (n != b.limit()) throw new CriuException("Short write of " + p + ": " + n + " of " + b.limit() + " bytes");
        } catch (IOException e) {
            throw new CriuException("Can't write " + p + " (" + text.strip().replace('\n', ',') + "): " + e.getMessage(), e);
        }
    }
}

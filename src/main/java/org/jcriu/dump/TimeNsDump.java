package org.jcriu.dump;

import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageType;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.ns.TimeNs;

/**
 * The time namespace of a dumped tree, as CRIU handles it: the tree may live in jcriu's own time
 * namespace or in one of its own, which every task of the tree shares. A time namespace is only
 * a pair of clock offsets, so dumping it is reading both clocks as the tasks see them (CRIU reads
 * them from inside, jcriu adds the namespace's offsets to the host clocks: the same values).
 * A task whose time namespace for children differs from its own (it called
 * unshare(CLONE_NEWTIME) and has not forked since, or its children live in the new one), or a
 * task in another time namespace than its parent, is refused as CRIU refuses nested time namespaces.
 */
final class TimeNsDump {
    private static final Logger LOG = Log.get("timens");

    private TimeNsDump() {}

    /** Refuses what CRIU cannot restore either; {@code ppid} is ignored for the root. */
    static void check(int pid, int ppid, boolean root) {
        String mine = TimeNs.link(pid, "time");
        String forChildren = TimeNs.link(pid, "time_for_children");
        if (!mine.equals(forChildren)) {
            throw new CriuException("Can't dump task " + pid + ": its time namespace for children (" + forChildren
                    + ") is not its own (" + mine + "); nested time namespaces are not supported");
        }
        if (!root) {
            String parent = TimeNs.link(ppid, "time");
            if (!parent.equals(mine)) {
                throw new CriuException("Can't dump task " + pid + ": it is in another time namespace (" + mine + ") than its parent "
                        + ppid + " (" + parent + "); only one time namespace per tree, the root's, is supported");
            }
        }
    }

    /** time_ns_id of a task in ids-PID.img. */
    static int id(int pid) {
        return TimeNs.own(pid) ? TimeNs.OWN_ID : TimeNs.HOST_ID;
    }

    /**
     * timens-ID.img, while the tree is frozen: timens-9.img with the tree's clocks when it has a
     * time namespace of its own, else timens-0.img with jcriu's (CRIU writes that one always; jcriu
     * does not use it on restore, see docs/process-trees.md).
     */
    static void write(ImageDir dir, int rootPid) {
        if (TimeNs.own(rootPid)) {
            var clocks = TimeNs.clocks(rootPid);
            LOG.info("task %d lives in its own time namespace: monotonic %d.%09d, boottime %d.%09d", rootPid,
                    clocks.getMonotonic().getTvSec(), clocks.getMonotonic().getTvNsec(), clocks.getBoottime().getTvSec(),
                    clocks.getBoottime().getTvNsec());
            Images.writeOne(dir, ImageType.TIMENS, clocks, TimeNs.OWN_ID);
        } else {
            Images.writeOne(dir, ImageType.TIMENS, Images.timens(), 0);
        }
    }
}

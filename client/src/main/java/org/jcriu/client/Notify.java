package org.jcriu.client;

/**
 * Answers criu's notifications (requests with {@code notify_scripts}), like go-criu's Notify.
 * Each method runs at the matching point of the dump or restore; throwing makes criu abort the
 * operation. Every method does nothing by default.
 */
public interface Notify {
    default void preDump() {}

    default void postDump() {}

    default void preRestore() {}

    /** The restored root task exists (real pid) but does not run yet. */
    default void postRestore(int pid) {}

    default void networkLock() {}

    default void networkUnlock() {}

    default void setupNamespaces(int pid) {}

    default void postSetupNamespaces() {}

    default void preResume() {}

    default void postResume() {}

    /**
     * orphan-pts-master (restore with {@code orphan_pts_master}): {@code fd} is the master of
     * the new pty that is the restored task's terminal (a container's console). It is yours:
     * keep it, or close it (the default), which hangs the terminal up.
     */
    default void orphanPtsMaster(int fd) {
        Posix.close(fd);
    }

    /**
     * A notification with the descriptor criu passed along, -1 for none. The default calls
     * {@link #on(String, int)}, then gives the orphan-pts-master fd to {@link #orphanPtsMaster};
     * any other fd, or one whose notification throws, is closed.
     */
    default void on(String script, int pid, int fd) {
        boolean kept = false;
        try {
            on(script, pid);
            if (fd >= 0 && script.equals("orphan-pts-master")) {
                kept = true;
                orphanPtsMaster(fd);
            }
        } finally {
            if (!kept && fd >= 0) Posix.close(fd);
        }
    }

    /** Any notification, by its criu name ("pre-dump", ...); the default calls the methods above. */
    default void on(String script, int pid) {
        switch (script) {
            case "pre-dump" -> preDump();
            case "post-dump" -> postDump();
            case "pre-restore" -> preRestore();
            case "post-restore" -> postRestore(pid);
            case "network-lock" -> networkLock();
            case "network-unlock" -> networkUnlock();
            case "setup-namespaces" -> setupNamespaces(pid);
            case "post-setup-namespaces" -> postSetupNamespaces();
            case "pre-resume" -> preResume();
            case "post-resume" -> postResume();
            default -> { }
        }
    }
}

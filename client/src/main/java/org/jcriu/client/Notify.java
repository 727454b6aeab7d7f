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

package org.jcriu.opts;

/**
 * The points of a dump or restore at which CRIU runs action scripts and sends RPC notifications
 * ({@code CRTOOLS_SCRIPT_ACTION} / {@code criu_notify.script} carry {@link #scriptName()}).
 */
public enum Action {
    PRE_STREAM("pre-stream"),
    PRE_DUMP("pre-dump"),
    POST_DUMP("post-dump"),
    PRE_RESTORE("pre-restore"),
    POST_RESTORE("post-restore"),
    NETWORK_LOCK("network-lock"),
    NETWORK_UNLOCK("network-unlock"),
    SETUP_NAMESPACES("setup-namespaces"),
    POST_SETUP_NAMESPACES("post-setup-namespaces"),
    PRE_RESUME("pre-resume"),
    POST_RESUME("post-resume"),
    ORPHAN_PTS_MASTER("orphan-pts-master"),
    STATUS_READY("status-ready"),
    QUERY_EXT_FILES("query-ext-files");

    private final String scriptName;

    Action(String scriptName) {
        this.scriptName = scriptName;
    }

    public String scriptName() {
        return scriptName;
    }
}

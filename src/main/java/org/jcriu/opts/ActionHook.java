package org.jcriu.opts;

import org.jcriu.CriuException;

/**
 * Who is told about an {@link Action} besides the {@code --action-script}s: the RPC client when
 * it asked for {@code notify_scripts}. Operations never call this directly; they call
 * {@code org.jcriu.action.Actions.run}, which calls the hook first and the scripts after, as CRIU.
 */
public interface ActionHook {
    /**
     * Reports {@code action} and waits for the answer. {@code rootPid} is the root task's real pid
     * (0 when not known yet), {@code fd} a descriptor to hand over ({@code orphan-pts-master}), or -1.
     * Returns false when nobody was told (a hook that only watches). Throws when the other side
     * refused or went away: the operation must then abort.
     */
    boolean notify(Action action, int rootPid, int fd) throws CriuException;
}

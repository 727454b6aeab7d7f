package org.jcriu.service;

import org.jcriu.CriuException;
import org.jcriu.image.proto.CriuNotify;
import org.jcriu.image.proto.CriuReq;
import org.jcriu.image.proto.CriuReqType;
import org.jcriu.image.proto.CriuResp;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Action;
import org.jcriu.opts.ActionHook;
import org.jcriu.opts.Options;

/**
 * notify_scripts: each action becomes a NOTIFY response on the RPC socket, and the operation
 * waits for the client's NOTIFY request with notify_success (send_criu_rpc_script). It also
 * remembers the root task's pid that post-restore reports, which the RESTORE reply carries,
 * whether or not the client asked to be notified.
 */
final class RpcNotifier implements ActionHook {
    private static final Logger LOG = Log.get("cr-service");

    private final Channel ch;
    private final Options o;
    private final boolean forward;
    private volatile int rootPid;

    RpcNotifier(Channel ch, Options o, boolean forward) {
        this.ch = ch;
        this.o = o;
        this.forward = forward;
    }

    int rootPid() {
        return rootPid;
    }

    @Override
    public boolean notify(Action action, int pid, int fd) {
        if (pid > 0 && (action == Action.POST_RESTORE || action == Action.SETUP_NAMESPACES || rootPid == 0)) rootPid = pid;
        if (!forward) return false;
        LOG.debug("\tRPC %s", action.scriptName());
        CriuNotify.Builder n = CriuNotify.newBuilder().setScript(action.scriptName());
        // CRIU sends the pid only with these two (the root task's real pid)
        if (action == Action.SETUP_NAMESPACES || action == Action.POST_RESTORE) n.setPid(pid);
        ch.send(CriuResp.newBuilder().setType(CriuReqType.NOTIFY).setSuccess(true).setNotify(n).build(), fd);
        CriuReq r;
        try {
            r = ch.receive();
        } catch (CriuException e) {
            throw new CriuException(e.errno(), "RPC client did not answer the " + action.scriptName() + " notification: "
                    + e.getMessage(), e);
        }
        if (r.getType() != CriuReqType.NOTIFY || !r.getNotifySuccess()) {
            throw new CriuException("RPC client reported script error for " + action.scriptName());
        }
        if (action == Action.QUERY_EXT_FILES) {
            if (!r.hasOpts()) LOG.info("RPC NOTIFY %s: no `opts` returned.", action.scriptName());
            else for (String key : r.getOpts().getExternalList()) {
                LOG.info("Adding external object: %s", key);
                o.external.add(key);
            }
        }
        return true;
    }
}

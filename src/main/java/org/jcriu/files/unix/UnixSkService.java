package org.jcriu.files.unix;

import org.jcriu.files.FileRestorer;
import org.jcriu.image.proto.CriuDumpResp;
import org.jcriu.image.proto.CriuReqType;
import org.jcriu.image.proto.CriuResp;
import org.jcriu.image.proto.UnixSkEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.sys.Sockets;
import org.jcriu.sys.Sys;
import org.jcriu.sys.UnixDiag;

/**
 * The RPC client's end of its socket to jcriu, when the client dumps itself (CRIU's USK_SERVICE).
 * Its peer is jcriu's end, which is never part of the dump: the socket is written as a closed,
 * unconnected one with uflags USK_SERVICE. At restore it becomes one end of a fresh socketpair
 * of the same type whose other end has queued the DUMP response "success, restored" and is
 * closed, so the restored client's pending receive gets that answer, then end of file.
 */
final class UnixSkService {
    private static final Logger LOG = Log.get("sk unix");

    private UnixSkService() {}

    /** True when {@code sk} is connected to jcriu's end of the RPC socket of this dump. */
    static boolean isClientEnd(UnixDiag.Sk sk, Options o) {
        return o.serviceSkIno != 0 && sk.peer() == o.serviceSkIno;
    }

    /** As CRIU writes it: closed, no peer, USK_SERVICE. */
    static void mark(UnixSkEntry.Builder e) {
        e.setState(UnixSk.TCP_CLOSE).setPeer(0).setUflags(e.getUflags() | UnixSk.USK_SERVICE);
        LOG.info("unix socket %s is the RPC client's end of its socket to jcriu (USK_SERVICE)", Integer.toUnsignedString(e.getIno()));
    }

    /** The restored socket, installed in the task (not yet at its number). */
    static int open(FileRestorer r, UnixSkEntry e) {
        int[] sv = Sockets.socketpair(e.getType());
        try {
            CriuResp resp = CriuResp.newBuilder().setType(CriuReqType.DUMP).setSuccess(true)
                    .setDump(CriuDumpResp.newBuilder().setRestored(true)).build();
            Sockets.send(sv[1], resp.toByteArray(), -1);
            int fd = r.pullFromRestorer(sv[0], e.getFlags());
            LOG.debug("task %d: unix socket %s (USK_SERVICE) at fd %d with the DUMP response queued", r.task().tid(),
                    Integer.toUnsignedString(e.getIno()), fd);
            return fd;
        } finally {
            Sys.close(sv[0]);
            Sys.close(sv[1]);
        }
    }
}

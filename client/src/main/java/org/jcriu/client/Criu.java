package org.jcriu.client;

import java.nio.file.Path;
import java.util.List;

import com.google.protobuf.InvalidProtocolBufferException;

import org.jcriu.image.proto.CriuFeatures;
import org.jcriu.image.proto.CriuOpts;
import org.jcriu.image.proto.CriuReq;
import org.jcriu.image.proto.CriuReqType;
import org.jcriu.image.proto.CriuResp;
import org.jcriu.image.proto.CriuVersion;

/**
 * A client of the CRIU RPC protocol, for jcriu or criu: one request per session, as libcriu and
 * go-criu do. Either spawns {@code <binary> swrk 3} with a SOCK_SEQPACKET socketpair (the
 * default, binary "criu" from PATH) or connects to a running {@code criu service} socket.
 *
 * <pre>{@code
 * Criu criu = Criu.swrk(Path.of("criu"));
 * int v = criu.version();                       // 40200 for jcriu
 * criu.dump(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir("/tmp/img").setPid(pid).build(), null);
 * int pid = criu.restore(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir("/tmp/img").build(), null);
 * }</pre>
 */
public final class Criu {
    private final String binary;
    private final String socket;

    private Criu(String binary, String socket) {
        this.binary = binary;
        this.socket = socket;
    }

    /** Spawns {@code binary swrk 3} per request (searched in PATH when it has no slash). */
    public static Criu swrk(Path binary) {
        return new Criu(binary.toString(), null);
    }

    /** Talks to a {@code criu service --address socket}. */
    public static Criu service(Path socket) {
        return new Criu(null, socket.toString());
    }

    /**
     * The version as runc, go-criu and libcriu compute it: major*10000 + minor*100 + sublevel,
     * and with a gitid (a development build) the next minor without sublevel.
     */
    public int version() {
        CriuVersion v = call(CriuReq.newBuilder().setType(CriuReqType.VERSION).build(), null).getVersion();
        int n = v.getMajorNumber() * 10000 + v.getMinorNumber() * 100 + v.getSublevel();
        if (v.hasGitid()) n = n - n % 100 + 100;
        return n;
    }

    public CriuFeatures featureCheck(CriuFeatures wanted) {
        return call(CriuReq.newBuilder().setType(CriuReqType.FEATURE_CHECK).setFeatures(wanted).build(), null).getFeatures();
    }

    public void check() {
        call(CriuReq.newBuilder().setType(CriuReqType.CHECK).build(), null);
    }

    public void dump(CriuOpts opts, Notify notify) {
        call(request(CriuReqType.DUMP, opts, notify), notify);
    }

    /** The restored root task's pid. */
    public int restore(CriuOpts opts, Notify notify) {
        return call(request(CriuReqType.RESTORE, opts, notify), notify).getRestore().getPid();
    }

    /**
     * Checkpoints the calling process itself (this JVM, with any children it has) into
     * {@code imagesDir}, as libcriu's criu_dump() without a pid: the CRaC use case.
     *
     * <p>{@code options} may add anything a dump takes (log_file, log_level, shell_job,
     * tcp_established, ...); its pid and images directory are replaced. notify_scripts is refused
     * for a self-dump (the process is frozen when post-dump would be sent).
     *
     * <ul>
     * <li>With leave_running this process is dumped and goes on: the call returns {@code false}
     * once the images are complete.
     * <li>Without it the dump kills this process, so the call never returns here; it returns
     * {@code true} in each copy restored from {@code imagesDir} (by {@code criu restore} or an RPC
     * RESTORE), at the point where this call was waiting for criu's answer.
     * <li>A failed dump throws {@link CriuRpcException} and this process runs on untouched.
     * </ul>
     *
     * <p>The swrk process is this JVM's child (started with posix_spawn, so Java's process reaper
     * never waits for it); criu leaves its own process out of the dumped tree, so a restored copy
     * has no such child: it does not wait for one (waitpid there says ECHILD), and no
     * {@link Process} object refers to it. Everything else the JVM runs (threads, timers, child
     * processes started with ProcessBuilder) is dumped and restored with it.
     *
     * @return true in a restored copy, false in the original left running
     */
    public boolean checkpointSelf(Path imagesDir, CriuOpts.Builder options) {
        CriuOpts.Builder b = options == null ? CriuOpts.newBuilder() : options.clone();
        CriuOpts opts = b.clearPid().setImagesDirFd(-1).setImagesDir(imagesDir.toAbsolutePath().toString()).build();
        CriuResp r = call(CriuReq.newBuilder().setType(CriuReqType.DUMP).setOpts(opts).build(), null);
        return r.hasDump() && r.getDump().getRestored();
    }

    private static CriuReq request(CriuReqType t, CriuOpts opts, Notify notify) {
        CriuOpts o = notify == null ? opts : opts.toBuilder().setNotifyScripts(true).build();
        return CriuReq.newBuilder().setType(t).setOpts(o).build();
    }

    /**
     * Sends {@code req}, answers notifications with {@code notify}, and returns the final
     * response; a response with success=false throws with cr_errno and cr_errmsg.
     */
    public CriuResp call(CriuReq req, Notify notify) {
        int[] sv = null;
        int fd, pid = -1;
        if (socket != null) {
            fd = Posix.connect(socket);
        } else {
            sv = Posix.socketpair();
            fd = sv[0];
            try {
                pid = Posix.spawnWithFd3(List.of(binary, "swrk", "3"), sv[1]);
            } finally {
                // our copy of the worker's end must go, or a crashed worker would never look like EOF
                Posix.close(sv[1]);
            }
        }
        try {
            Posix.send(fd, req.toByteArray());
            while (true) {
                Posix.Received got = Posix.recvWithFd(fd);
                byte[] data = got.data();
                if (data.length == 0) throw new CriuRpcException("criu closed the connection without answering " + req.getType(), 0);
                CriuResp r;
                try {
                    r = CriuResp.parseFrom(data);
                } catch (InvalidProtocolBufferException e) {
                    if (got.fd() >= 0) Posix.close(got.fd());
                    throw new CriuRpcException("undecodable response: " + e.getMessage(), 0);
                }
                if (r.getType() != CriuReqType.NOTIFY && got.fd() >= 0) Posix.close(got.fd());
                if (r.getType() == CriuReqType.NOTIFY) {
                    boolean ok = true;
                    try {
                        if (notify != null) notify.on(r.getNotify().getScript(), r.getNotify().getPid(), got.fd());
                        else if (got.fd() >= 0) Posix.close(got.fd());
                    } catch (RuntimeException e) {
                        ok = false;
                    }
                    Posix.send(fd, CriuReq.newBuilder().setType(CriuReqType.NOTIFY).setNotifySuccess(ok).build().toByteArray());
                    continue;
                }
                if (!r.getSuccess()) {
                    throw new CriuRpcException(req.getType() + " failed" + (r.hasCrErrmsg() ? ": " + r.getCrErrmsg() : "")
                            + (r.hasCrErrno() ? " (errno " + r.getCrErrno() + ")" : ""), r.getCrErrno());
                }
                return r;
            }
        } finally {
            Posix.close(fd);
            if (pid > 0) reap(pid);
        }
    }

    /**
     * Waits for our swrk process. In a copy restored from a self-dump that process was never ours
     * (criu kept itself out of the dump): ECHILD, nothing to wait for.
     */
    private static void reap(int pid) {
        try {
            Posix.waitpid(pid);
        } catch (CriuRpcException e) {
            if (e.errno() != Posix.ECHILD) throw e;
        }
    }
}

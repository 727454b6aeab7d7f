package org.jcriu.service;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.cli.RpcSupport;
import org.jcriu.image.proto.CriuDumpResp;
import org.jcriu.image.proto.CriuFeatures;
import org.jcriu.image.proto.CriuOpts;
import org.jcriu.image.proto.CriuReq;
import org.jcriu.image.proto.CriuReqType;
import org.jcriu.image.proto.CriuResp;
import org.jcriu.image.proto.CriuRestoreResp;
import org.jcriu.image.proto.CriuVersion;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;
import org.jcriu.sys.WaitStatus;

/**
 * One client connection: CRIU's cr_service_work. Requests are answered in order; keep_open keeps
 * the session for the request types CRIU allows it for, anything else ends it. Every failure
 * becomes a response whose cr_errmsg is the exception that caused it and whose cr_errno is its
 * errno; nothing a client sends makes the worker throw past {@link #work()}.
 */
final class Session {
    private static final Logger LOG = Log.get("cr-service");
    static final int VERSION_MAJOR = 4, VERSION_MINOR = 2;
    static final String NAME = "jcriu";
    private static final long NR_GETEUID = 107;

    private final Channel ch;
    private final Options base;
    private final boolean swrk;
    private final Peer peer;
    /** Set by prepare() when a root service works for a non-root client; see {@link Staging}. */
    private Staging staging;

    /** {@code swrk}: started by the client itself (criu swrk), which allows rst_sibling, inherit_fd and ps.fd. */
    Session(int fd, Options base, boolean swrk) {
        this.ch = new Channel(fd);
        this.base = base;
        this.swrk = swrk;
        this.peer = Peer.of(fd);
    }

    /** Serves until the session ends; the exit status CRIU's worker would have. */
    int work() {
        while (true) {
            CriuReq req;
            try {
                req = ch.receive();
            } catch (Channel.Closed e) {
                LOG.info("Client exited unexpectedly");
                return 1;
            } catch (Channel.BadRequest e) {
                sendError(e);
                return 1;
            } catch (CriuException e) {
                LOG.error("Can't recv request: %s", e.getMessage());
                return 1;
            }
            if (req.getKeepOpen() && !keepOpenAllowed(req.getType())) {
                // CRIU drops the session without a word here; an explicit refusal is kinder.
                sendError(new CriuException(Errno.EBADRQC, "keep_open is not allowed for " + req.getType() + " requests"));
                return 1;
            }
            int ret;
            try {
                ret = handle(req);
            } catch (Channel.Closed e) {
                LOG.info("Client exited unexpectedly");
                return 1;
            } catch (CriuException e) {
                // only a response that could not be sent ends up here
                LOG.error("%s", e.getMessage());
                return 1;
            } finally {
                Log.flush();
            }
            if (ret != 0 || !req.getKeepOpen()) return ret;
        }
    }

    static boolean keepOpenAllowed(CriuReqType t) {
        return switch (t) {
            case PAGE_SERVER, PAGE_SERVER_CHLD, CPUINFO_DUMP, CPUINFO_CHECK, FEATURE_CHECK, VERSION -> true;
            default -> false;
        };
    }

    private int handle(CriuReq req) {
        return switch (req.getType()) {
            case DUMP -> dump(req.getOpts());
            case RESTORE -> restore(req.getOpts());
            case CHECK -> check(req.getOpts());
            case PRE_DUMP -> preDumpLoop(req);
            case SINGLE_PRE_DUMP -> preDump(req.getOpts(), true);
            case PAGE_SERVER, PAGE_SERVER_CHLD -> {
                ch.send(failure(CriuReqType.PAGE_SERVER, new CriuException(Errno.ENOTSUP,
                        "page-server is not supported by jcriu yet")));
                yield 0;
            }
            case CPUINFO_DUMP, CPUINFO_CHECK -> cpuinfo(req);
            case FEATURE_CHECK -> featureCheck(req);
            case VERSION -> version();
            case WAIT_PID -> waitPid(req.getPid());
            default -> {
                sendError(new CriuException(Errno.EBADRQC, "Invalid req"
                        + (req.hasType() ? " " + req.getType() : " (no or unknown type)")));
                yield 1;
            }
        };
    }

    private void sendError(CriuException e) {
        LOG.error("RPC error: %s", e.getMessage());
        try {
            ch.send(failure(CriuReqType.EMPTY, e));
        } catch (CriuException x) {
            LOG.error("%s", x.getMessage());
        }
    }

    static CriuResp failure(CriuReqType type, CriuException e) {
        return withError(CriuResp.newBuilder().setType(type).setSuccess(false), e).build();
    }

    static CriuResp.Builder withError(CriuResp.Builder b, CriuException e) {
        if (e == null) return b;
        if (e.errno() != 0) b.setCrErrno(e.errno());
        return b.setCrErrmsg(Channel.clip(e.getMessage()));
    }

    /** The request's options on top of the worker's, with its log opened; EBADRQC when refused. */
    private Options prepare(String command, CriuOpts ro, RpcNotifier[] notifier) {
        Options o = copy(base);
        o.command = command;
        o.notifier = null;
        RpcOptions.LogSetup log = RpcOptions.apply(ro, o, peer, swrk);
        if (peer.uid() != 0 && Sys.raw(NR_GETEUID) == 0 && command.equals("restore")) {
            // images are the client's: they could carry any credentials, and we are root
            throw new CriuException(Errno.EPERM, "restore for a non-root client (uid " + peer.uid()
                    + ") by a root service is not supported yet: run jcriu swrk as that user");
        }
        staging = Staging.of(peer, o);
        if (o.logFile != null) Log.toFile(Path.of(o.logFile), log.level());
        else Log.configure(log.level(), System.err);
        LOG.info("Version: %s (jcriu %s), RPC %s request from pid %d uid %d", RpcSupport.criuVersion(),
                RpcSupport.jcriuVersion(), command, peer.pid(), peer.uid());
        if (!RpcSupport.commandImplemented(command)) {
            throw new CriuException(Errno.ENOTSUP, command + " is not supported by jcriu yet");
        }
        if (notifier != null) {
            boolean forward = ro != null && ro.getNotifyScripts();
            notifier[0] = new RpcNotifier(ch, o, forward);
            o.notifier = notifier[0];
        }
        return o;
    }

    /** Hands a non-root client's files over (see {@link Staging}); returns the error to report. */
    private CriuException finish(Options o, CriuException err) {
        Staging s = staging;
        staging = null;
        if (s == null) return err;
        try (s) {
            s.publish(o == null ? null : o.logFile);
        } catch (CriuException e) {
            if (err == null) return logged(e);
        }
        return err;
    }

    /** Runs an engine; a non-zero status without an exception becomes one with the first logged error. */
    private static void runEngine(String engine, Options o) {
        int rc = Engine.run(engine, o);
        if (rc != 0) {
            String first = Log.firstError();
            throw new CriuException(first != null ? first : o.command + " failed with status " + rc);
        }
    }

    private static CriuException logged(CriuException e) {
        StackTraceElement[] st = e.getStackTrace();
        Log.errorAt(st.length > 0 ? st[0] : null, e.getMessage());
        Log.stackTrace(e, false);
        return e;
    }

    private int dump(CriuOpts ro) {
        boolean selfDump = ro == null || ro.getPid() == 0;
        CriuException err = null;
        Options o = null;
        try {
            o = prepare("dump", ro, new RpcNotifier[1]);
            // self-dump: the client itself (SO_PEERCRED), as CRIU's setup_opts_from_req
            if (selfDump) {
                o.pid = peer.pid();
                // post-dump would be sent to a client that is frozen in the middle of its dump
                if (ro != null && ro.getNotifyScripts()) {
                    throw new CriuException(Errno.EBADRQC, "notify_scripts is not supported with a self-dump (DUMP without pid): the client "
                            + peer.pid() + " is frozen when post-dump is sent and could never answer");
                }
            }
            if (o.pid == Sys.getpid()) {
                throw new CriuException(Errno.EINVAL, "Can't dump task " + o.pid + ": it is jcriu's own process (the RPC client runs the session in-process)");
            }
            o.serviceSkIno = serviceSkIno();
            peer.checkMayDump(o.pid);
            runEngine(Engine.DUMP, o);
        } catch (Channel.Closed e) {
            throw e;
        } catch (CriuException e) {
            err = logged(e);
        } catch (RuntimeException e) {
            err = logged(internal(e));
        }
        err = finish(o, err);
        // A successful self-dump without leave_running killed the client: it hears the answer
        // ("restored") from the socket its restore makes (files/unix UnixSkService), not here.
        if ((ro != null && ro.getLeaveRunning()) || !selfDump || err != null) {
            CriuResp.Builder b = CriuResp.newBuilder().setType(CriuReqType.DUMP).setSuccess(err == null)
                    .setDump(CriuDumpResp.newBuilder().setRestored(false));
            ch.send(withError(b, err).build());
        }
        return err == null ? 0 : 1;
    }

    /**
     * Our end of the client's socket: a dumped socket connected to it is the client's end (CRIU
     * fstat()s the service socket for every request the same way).
     */
    private int serviceSkIno() {
        try {
            return (int) Sys.fstat(ch.fd).ino();
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't stat the RPC socket (fd " + ch.fd + "): " + e.getMessage(), e);
        }
    }

    private int restore(CriuOpts ro) {
        CriuException err = null;
        RpcNotifier[] n = new RpcNotifier[1];
        Options o = null;
        Path pidfile = null;
        int pid = -1;
        try {
            o = prepare("restore", ro, n);
            // CRIU cannot restore under an arbitrary task: the tree is detached under the worker
            o.restoreDetached = true;
            if (o.pidfile == null) {
                pidfile = Files.createTempFile("jcriu-rpc-", ".pid");
                Files.delete(pidfile);
                o.pidfile = pidfile;
            }
            runEngine(Engine.RESTORE, o);
            pid = n[0].rootPid();
            if (pid <= 0) pid = readPid(o.pidfile);
            if (pid <= 0) throw new CriuException("restore succeeded but reported no root task pid");
        } catch (Channel.Closed e) {
            throw e;
        } catch (CriuException e) {
            err = logged(e);
        } catch (IOException | RuntimeException e) {
            err = logged(internal(e));
        } finally {
            staging = null;
            if (pidfile != null) pidfile.toFile().delete();
        }
        CriuResp.Builder b = CriuResp.newBuilder().setType(CriuReqType.RESTORE).setSuccess(err == null)
                .setRestore(CriuRestoreResp.newBuilder().setPid(err == null ? pid : -1));
        ch.send(withError(b, err).build());
        if (err != null) return 1;
        if (o != null && !o.execCmd.isEmpty()) return execCmd(o);
        return 0;
    }

    private static int readPid(Path p) {
        try {
            return Integer.parseInt(Files.readString(p, StandardCharsets.UTF_8).trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /**
     * exec_cmd: CRIU execs it in place of the worker with stdout and stderr on the log. A JVM
     * cannot exec, so the command runs as our child and the worker exits with its status.
     */
    private static int execCmd(Options o) {
        List<String> argv = o.execCmd;
        int devNull = Sys.open("/dev/null", Linux.O_RDONLY, 0);
        int logFd = -1;
        try {
            Log.flush();
            if (o.logFile != null) logFd = Sys.open(o.logFile, Linux.O_WRONLY | Linux.O_APPEND, 0);
            String path = argv.getFirst().contains("/") ? argv.getFirst() : which(argv.getFirst());
            List<String> env = System.getenv().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
            int pid = Sys.posixSpawn(path, argv, env, new int[] {devNull, logFd, logFd}, false);
            WaitStatus st = Sys.waitpid(pid, 0);
            return st.shellStatus();
        } catch (CriuException e) {
            logged(new CriuException("Failed to exec cmd " + argv.getFirst() + ": " + e.getMessage(), e));
            return 1;
        } finally {
            Sys.close(devNull);
            if (logFd >= 0) Sys.close(logFd);
        }
    }

    private static String which(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isExecutable(p)) return p.toString();
        }
        return name;
    }

    private int check(CriuOpts ro) {
        CriuException err = null;
        Options o = null;
        try {
            o = prepare("check", ro, null);
            runEngine(Engine.CHECK, o);
        } catch (CriuException e) {
            err = logged(e);
        } catch (RuntimeException e) {
            err = logged(internal(e));
        }
        err = finish(o, err);
        ch.send(withError(CriuResp.newBuilder().setType(CriuReqType.CHECK).setSuccess(err == null), err).build());
        return 0;
    }

    /** PRE_DUMP: pre-dump, answer, and wait for more PRE_DUMPs or the final DUMP (pre_dump_loop). */
    private int preDumpLoop(CriuReq req) {
        CriuReq msg = req;
        do {
            if (preDump(msg.getOpts(), false) != 0) return 1;
            try {
                msg = ch.receive();
            } catch (Channel.BadRequest e) {
                sendError(e);
                return 1;
            }
        } while (msg.getType() == CriuReqType.PRE_DUMP);
        if (msg.getType() != CriuReqType.DUMP) {
            sendError(new CriuException(Errno.EBADRQC, "Bad req seq: " + msg.getType() + " after PRE_DUMP (expected PRE_DUMP or DUMP)"));
            return 1;
        }
        return dump(msg.getOpts());
    }

    private int preDump(CriuOpts ro, boolean single) {
        CriuException err = null;
        Options o = null;
        try {
            o = prepare("pre-dump", ro, new RpcNotifier[1]);
            if (o.pid == 0) throw new CriuException(Errno.EBADRQC, "pre-dump needs a pid");
            peer.checkMayDump(o.pid);
            runEngine(Engine.DUMP, o);
        } catch (Channel.Closed e) {
            throw e;
        } catch (CriuException e) {
            err = logged(e);
        } catch (RuntimeException e) {
            err = logged(internal(e));
        }
        err = finish(o, err);
        CriuReqType t = single ? CriuReqType.SINGLE_PRE_DUMP : CriuReqType.PRE_DUMP;
        ch.send(withError(CriuResp.newBuilder().setType(t).setSuccess(err == null), err).build());
        return err == null ? 0 : 1;
    }

    private int cpuinfo(CriuReq req) {
        CriuException err = null;
        String cmd = req.getType() == CriuReqType.CPUINFO_DUMP ? "cpuinfo-dump" : "cpuinfo-check";
        Options o = null;
        try {
            o = prepare(cmd, req.getOpts(), null);
            runEngine(Engine.CPUINFO, o);
        } catch (CriuException e) {
            err = logged(e);
        } catch (RuntimeException e) {
            err = logged(internal(e));
        }
        err = finish(o, err);
        ch.send(withError(CriuResp.newBuilder().setType(req.getType()).setSuccess(err == null), err).build());
        return 0;
    }

    /**
     * What jcriu can do, not merely what the kernel offers: mem_track needs pre-dump with
     * --track-mem, lazy_pages the lazy-pages daemon, pidfd_store the pidfd_store_sk option.
     */
    private int featureCheck(CriuReq req) {
        CriuFeatures asked = req.getFeatures();
        boolean memTrack = RpcSupport.commandImplemented("pre-dump") && !RpcSupport.notImplemented("pre-dump", "track-mem");
        boolean lazy = RpcSupport.commandImplemented("lazy-pages");
        CriuFeatures f = CriuFeatures.newBuilder()
                .setMemTrack(asked.getMemTrack() && memTrack)
                .setLazyPages(asked.getLazyPages() && lazy)
                .setPidfdStore(false)
                .build();
        ch.send(CriuResp.newBuilder().setType(req.getType()).setSuccess(true).setFeatures(f).build());
        return 0;
    }

    /**
     * 4.2 without a gitid: go-criu, runc and libcriu add 100 and drop the sublevel whenever a
     * gitid is present (a development build after the release), which would claim 4.3. The
     * number they compute is therefore exactly 40200, the release whose behaviour jcriu has.
     */
    private int version() {
        ch.send(versionResponse());
        return 0;
    }

    static CriuResp versionResponse() {
        CriuVersion v = CriuVersion.newBuilder().setMajorNumber(VERSION_MAJOR).setMinorNumber(VERSION_MINOR)
                .setName(NAME).build();
        return CriuResp.newBuilder().setType(CriuReqType.VERSION).setSuccess(true).setVersion(v).build();
    }

    private int waitPid(int pid) {
        CriuResp.Builder b = CriuResp.newBuilder().setType(CriuReqType.WAIT_PID);
        try {
            // __WALL: restored roots are our children with exit_signal 0 (CLONE_PARENT clone3)
            WaitStatus st = Sys.waitpid(pid, Linux.__WALL);
            b.setSuccess(true).setStatus(st.raw());
        } catch (ErrnoException e) {
            LOG.error("Unable to wait %d: %s", pid, e.getMessage());
            withError(b.setSuccess(false), e);
        }
        ch.send(b.build());
        return 0;
    }

    private static CriuException internal(Exception e) {
        return new CriuException("internal error: " + e, e);
    }

    /** A fresh copy of the worker's options (CRIU re-reads nothing between requests either). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static Options copy(Options from) {
        Options to = new Options();
        try {
            for (Field f : Options.class.getFields()) {
                if (Modifier.isStatic(f.getModifiers())) continue;
                Object v = f.get(from);
                if (Modifier.isFinal(f.getModifiers())) {
                    if (v instanceof Collection c) ((Collection) f.get(to)).addAll(c);
                    else if (v instanceof Map m) ((Map) f.get(to)).putAll(m);
                } else {
                    f.set(to, v);
                }
            }
        } catch (IllegalAccessException e) {
            throw new AssertionError(e);
        }
        return to;
    }
}

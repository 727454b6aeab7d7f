package org.jcriu.service;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.log.Pidfile;
import org.jcriu.opts.Action;
import org.jcriu.opts.Options;
import org.jcriu.action.Actions;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sockets;
import org.jcriu.sys.Sys;
import org.jcriu.sys.WaitStatus;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * {@code criu service}: listens on a UNIX SOCK_SEQPACKET socket and serves each connection in a
 * worker JVM of its own, started with the accepted socket as its stdin.
 *
 * <p>Why a process per connection rather than a thread: as in CRIU (which forks), the log sink,
 * the options and the restored tasks (children of whoever restored them) belong to one client;
 * a worker that crashes, is killed, or leaves a half-restored tree cannot touch the daemon or
 * another client; and a JVM cannot fork. The price is a JVM start (about 0.1 s) per connection.
 *
 * <p>The socket is created by bind() under a umask that gives exactly 0666 (anyone may connect,
 * as with CRIU: what a client may do is checked per request from its SO_PEERCRED), so there is no
 * window in which a path could be swapped before a chmod. An existing path is replaced only when
 * it is a socket.
 */
public final class Service {
    private static final Logger LOG = Log.get("cr-service");
    static final String DEFAULT_ADDRESS = "./criu_service.socket";
    /** Marks the process that inherited the listening socket from a -d parent. */
    static final String DAEMON_CHILD = "jcriu.service.listenFd";

    private Service() {}

    /** Entry point for both {@code swrk} and {@code service} commands (the CLI dispatches here). */
    public static int run(Options o) {
        if ("swrk".equals(o.command)) return Swrk.run(o.swrkFd, o);
        return serve(o);
    }

    static int serve(Options o) {
        String addr = o.address;
        if (addr == null) {
            LOG.warn("Binding to local dir address!");
            addr = DEFAULT_ADDRESS;
        }
        int sk = listen(addr);
        LOG.info("The service socket is bound to %s", addr);
        if (o.restoreDetached) {
            // -d: a JVM cannot fork, so a detached copy of ourselves takes over the socket.
            int child = spawnDaemon(sk, o);
            Sys.close(sk);
            try {
                if (o.pidfile != null) Pidfile.write(o.pidfile, child);
                statusReady(o);
            } catch (CriuException e) {
                // the daemon must not outlive a start that reported failure
                Sys.kill(child, Linux.SIGKILL);
                Sys.waitpid(child, 0);
                throw e;
            }
            return 0;
        }
        if (o.pidfile != null) Pidfile.write(o.pidfile, Sys.getpid());
        statusReady(o);
        return acceptLoop(sk, o);
    }

    /** The -d child: the listening socket is its stdin; it goes on with the parent's log file. */
    public static void main(String[] args) {
        int level = args.length > 0 ? Integer.parseInt(args[0]) : Log.LOG_WARN;
        Options o = new Options();
        o.command = "service";
        o.logLevel = level;
        Log.configure(level, System.err);
        if (args.length > 1) {
            try {
                Log.configure(level, new java.io.PrintStream(new java.io.FileOutputStream(args[1], true), true,
                        java.nio.charset.StandardCharsets.UTF_8));
            } catch (java.io.IOException e) {
                LOG.error("Can't reopen log %s: %s", args[1], e.getMessage());
            }
        }
        int rc = acceptLoop(0, o);
        Runtime.getRuntime().halt(rc);
    }

    /**
     * For the AOT training run: one in-process session answering what clients ask first
     * (VERSION, FEATURE_CHECK with keep_open, a refused request), so a worker's start has the
     * protobuf and service classes already loaded and linked.
     */
    public static void train() {
        int[] sv = Sockets.socketpair(Sockets.SOCK_SEQPACKET);
        Thread t = Thread.ofPlatform().start(() -> new Session(sv[1], new Options(), true).work());
        try {
            for (byte[] req : new byte[][] {{0x08, 0x0a, 0x20, 0x01}, {0x08, 0x09, 0x20, 0x01, 0x2a, 0x02, 0x08, 0x01},
                    {0x08, 0x00}}) {
                Sockets.send(sv[0], req, -1);
                Sockets.recv(sv[0], 8192);
            }
            t.join(10_000);
            // the option mapping of a dump request (descriptors, the CLI parser), without dumping
            Path d = Files.createTempDirectory("jcriu-train-rpc");
            try {
                Options o = Session.copy(new Options());
                o.command = "dump";
                RpcOptions.apply(org.jcriu.image.proto.CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(d.toString())
                        .setPid(1).setShellJob(true).setLeaveRunning(false).setLogLevel(4).setLogFile("x.log").build(),
                        o, new Peer(Sys.getpid(), 0, 0), true);
            } finally {
                Files.deleteIfExists(d);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.io.IOException | CriuException e) {
            // training only
        } finally {
            Sys.close(sv[0]);
            Sys.close(sv[1]);
        }
    }

    private static int listen(String addr) {
        Path p = Path.of(addr);
        try {
            PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!a.isOther()) throw new CriuException(Errno.EEXIST, "Can't bind service socket to " + addr
                    + ": it exists and is not a socket");
            Files.delete(p);
        } catch (java.nio.file.NoSuchFileException e) {
            // nothing to replace
        } catch (java.io.IOException e) {
            throw new CriuException("Can't replace service socket " + addr + ": " + e.getMessage(), e);
        }
        int sk = Sockets.socket(Sockets.SOCK_SEQPACKET);
        try {
            long old = Sys.raw(Nr.UMASK, 0111);
            try {
                Sockets.bind(sk, addr);
            } finally {
                Sys.raw(Nr.UMASK, old);
            }
            Sockets.listen(sk, 16);
            return sk;
        } catch (CriuException e) {
            Sys.close(sk);
            throw new CriuException(e.errno(), "Can't bind service socket to " + addr + ": " + e.getMessage(), e);
        }
    }

    /** --status-fd gets one zero byte once clients can connect; status-ready scripts run. */
    private static void statusReady(Options o) {
        // criu's status_ready(): the scripts first, the byte only once they agreed
        Actions.run(o, Action.STATUS_READY);
        if (o.statusFd >= 0) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment z = a.allocate(1);
                Sys.write(o.statusFd, z, 1);
                Sys.close(o.statusFd);
            } catch (ErrnoException e) {
                throw new CriuException(e.errno(), "Can't write to status fd " + o.statusFd + ": " + e.getMessage(), e);
            }
        }
    }

    private static int acceptLoop(int sk, Options o) {
        Spare.prepare(o);
        while (true) {
            LOG.info("Waiting for connection...");
            int c;
            try {
                c = Sockets.accept(sk);
            } catch (ErrnoException e) {
                // out of fds or a connection reset before accept: the daemon itself stays up
                LOG.error("Can't accept connection: %s", e.getMessage());
                if (e.errno() == Errno.EBADF || e.errno() == Errno.EINVAL || e.errno() == Errno.ENOTSOCK) return 1;
                sleep();
                continue;
            }
            LOG.info("Connected.");
            int conn = c;
            Thread.ofPlatform().daemon().name("conn-" + c).start(() -> serveConnection(conn, o));
        }
    }

    /**
     * VERSION needs no options, no log and no privileges: it is answered here (a worker JVM would
     * cost 0.1-0.2 s). Anything else, including whatever follows a keep_open VERSION and any
     * request that does not decode cleanly, is left unread for a worker of its own. One platform
     * thread per connection: a client that says nothing blocks only its own thread.
     */
    private static void serveConnection(int c, Options o) {
        try {
            while (Fast.version(c)) {
                // answered; the client kept the session open
            }
            if (Fast.closed(c)) return;
            Spare spare = Spare.take();
            if (spare != null && spare.handOver(c)) {
                reapLater(spare.pid());
            } else {
                reapLater(spawnWorker(c, o));
            }
            Spare.prepare(o);
        } catch (CriuException e) {
            LOG.error("Can't serve a connection: %s", e.getMessage());
        } finally {
            Sys.close(c);
        }
    }

    /** The daemon's own answers, used only before a worker exists. */
    static final class Fast {
        private Fast() {}

        /** True when the next request was a VERSION with keep_open, answered. */
        static boolean version(int c) {
            int len = Sockets.peekSize(c);
            if (len == 0 || len > 64) return false;
            byte[] data = Sockets.recvPeek(c, len);
            org.jcriu.image.proto.CriuReq req;
            try {
                req = org.jcriu.image.proto.CriuReq.parseFrom(data);
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                return false;
            }
            if (req.getType() != org.jcriu.image.proto.CriuReqType.VERSION) return false;
            Sockets.recv(c, len);
            new Channel(c).send(Session.versionResponse());
            if (!req.getKeepOpen()) {
                Sockets.shutdown(c, Sockets.SHUT_RDWR);
                return false;
            }
            return true;
        }

        /** The client is gone or the session was ended here. */
        static boolean closed(int c) {
            try {
                return Sockets.peekSize(c) == 0;
            } catch (CriuException e) {
                return true;
            }
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The same java, JVM options and class path as ours, running {@code mainClass}. */
    static List<String> jvm(String mainClass, String... args) {
        String java = ProcessHandle.current().info().command()
                .orElse(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        List<String> argv = new ArrayList<>();
        argv.add(java);
        argv.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        argv.add("-cp");
        argv.add(System.getProperty("java.class.path"));
        argv.add(mainClass);
        argv.addAll(List.of(args));
        return argv;
    }

    private static List<String> env() {
        List<String> env = new ArrayList<>();
        for (Map.Entry<String, String> e : System.getenv().entrySet()) env.add(e.getKey() + "=" + e.getValue());
        return env;
    }

    /**
     * A worker started before its client connects: its JVM is up, its native calls linked and its
     * classes loaded while it waits on one end of a socketpair for the client's socket (SCM_RIGHTS),
     * so a request pays for none of that. One at a time; a connection that finds none waiting gets
     * a worker started for it, as before.
     */
    record Spare(int pid, int fd) {
        private static Spare waiting;
        private static boolean starting;

        static synchronized Spare take() {
            Spare s = waiting;
            waiting = null;
            return s;
        }

        /** Starts the next spare on a thread of its own unless one waits or is being started. */
        static void prepare(Options o) {
            synchronized (Spare.class) {
                if (waiting != null || starting) return;
                starting = true;
            }
            Thread.ofPlatform().daemon().name("spare-worker").start(() -> {
                Spare s = null;
                try {
                    int[] sv = Sockets.socketpair(Sockets.SOCK_SEQPACKET);
                    try {
                        List<String> argv = jvm(Worker.class.getName(), String.valueOf(o.logLevel), Worker.SPARE);
                        s = new Spare(Sys.posixSpawn(argv.getFirst(), argv, env(), new int[] {sv[1], -1, -1}, false), sv[0]);
                    } finally {
                        Sys.close(sv[1]);
                    }
                } catch (CriuException e) {
                    LOG.warn("Can't start a spare worker: %s", e.getMessage());
                } finally {
                    synchronized (Spare.class) {
                        waiting = s;
                        starting = false;
                    }
                }
            });
        }

        /** Gives the client's socket to this worker; false when it is gone (then it is reaped). */
        boolean handOver(int client) {
            try {
                Sockets.send(fd, new byte[] {1}, client);
                return true;
            } catch (CriuException e) {
                LOG.warn("Spare worker %d is gone: %s", pid, e.getMessage());
                reapLater(pid);
                return false;
            } finally {
                Sys.close(fd);
            }
        }
    }

    private static int spawnWorker(int c, Options o) {
        List<String> argv = jvm(Worker.class.getName(), String.valueOf(o.logLevel));
        return Sys.posixSpawn(argv.getFirst(), argv, env(), new int[] {c, -1, -1}, false);
    }

    private static int spawnDaemon(int sk, Options o) {
        Path log = Log.file();
        List<String> argv = log == null ? jvm(Service.class.getName(), String.valueOf(o.logLevel))
                : jvm(Service.class.getName(), String.valueOf(o.logLevel), log.toAbsolutePath().toString());
        Log.flush();
        int devNull = Sys.open("/dev/null", Linux.O_RDWR, 0);
        try {
            return Sys.posixSpawn(argv.getFirst(), argv, env(), new int[] {sk, devNull, devNull}, true);
        } finally {
            Sys.close(devNull);
        }
    }

    /** Each worker is waited for by pid on its own thread: never waitpid(-1), which could steal others' children. */
    private static void reapLater(int pid) {
        Thread.ofPlatform().daemon().name("reap-" + pid).start(() -> {
            try {
                WaitStatus st = Sys.waitpid(pid, 0);
                LOG.info("Worker(pid %d) %s", pid, st);
            } catch (CriuException e) {
                LOG.error("Can't wait for worker %d: %s", pid, e.getMessage());
            }
        });
    }
}

package org.jcriu.service;

import org.jcriu.log.Log;
import org.jcriu.opts.Options;
import org.jcriu.sys.Sockets;
import org.jcriu.sys.Sys;

/**
 * A service connection's own JVM (CRIU forks a worker per connection): the daemon starts it with
 * the accepted socket as fd 0. Fresh default options, as CRIU's init_opts() in the worker.
 */
public final class Worker {
    /** Started ahead of its client: the socket comes later over fd 0 (see Service.Spare). */
    static final String SPARE = "--spare";

    private Worker() {}

    public static void main(String[] args) {
        int rc;
        try {
            Options o = new Options();
            o.command = "service";
            if (args.length > 0) o.logLevel = Integer.parseInt(args[0]);
            Log.configure(o.logLevel, System.err);
            int client = 0;
            if (args.length > 1 && args[1].equals(SPARE)) {
                client = awaitClient();
                if (client < 0) Runtime.getRuntime().halt(0); // the daemon is gone: nobody to serve
            }
            rc = new Session(client, o, false).work();
        } catch (Throwable t) {
            // a worker's failure is its client's only: report it and go
            System.err.println("Error: jcriu service worker: " + t);
            rc = 1;
        }
        Log.flush();
        System.err.flush();
        Runtime.getRuntime().halt(rc);
    }

    /**
     * Warms up what every request needs (the native call stubs, the session's and the engine's
     * classes) while no client waits, then blocks for the client's socket. -1 when the daemon
     * closed its end instead.
     */
    private static int awaitClient() {
        Thread warm = Thread.ofPlatform().start(() -> {
            try {
                Sys.getpid();
                Sys.prepareSpawn();
                Session.versionResponse();
                for (String c : new String[] {"org.jcriu.dump.Dumper", "org.jcriu.restore.Restorer", "org.jcriu.service.RpcOptions"}) {
                    Class.forName(c, true, Worker.class.getClassLoader());
                }
            } catch (ReflectiveOperationException | RuntimeException | Error e) {
                // only a warm-up: the request itself reports what is wrong
            }
        });
        Sockets.Received r = Sockets.recvWithFds(0, 1);
        try {
            warm.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Sys.close(0);
        return r.fds().length == 1 ? r.fds()[0] : -1;
    }
}

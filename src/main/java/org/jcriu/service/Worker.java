package org.jcriu.service;

import org.jcriu.log.Log;
import org.jcriu.opts.Options;

/**
 * A service connection's own JVM (CRIU forks a worker per connection): the daemon starts it with
 * the accepted socket as fd 0. Fresh default options, as CRIU's init_opts() in the worker.
 */
public final class Worker {
    private Worker() {}

    public static void main(String[] args) {
        int rc;
        try {
            Options o = new Options();
            o.command = "service";
            if (args.length > 0) o.logLevel = Integer.parseInt(args[0]);
            Log.configure(o.logLevel, System.err);
            rc = new Session(0, o, false).work();
        } catch (Throwable t) {
            // a worker's failure is its client's only: report it and go
            System.err.println("Error: jcriu service worker: " + t);
            rc = 1;
        }
        Log.flush();
        System.err.flush();
        Runtime.getRuntime().halt(rc);
    }
}

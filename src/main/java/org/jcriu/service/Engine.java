package org.jcriu.service;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

import org.jcriu.CriuException;
import org.jcriu.sys.Errno;
import org.jcriu.opts.Options;

/**
 * The operations behind requests, each a public static {@code int run(Options)} (as the command
 * line calls them), looked up by name so the service builds before every engine exists.
 */
final class Engine {
    static final String DUMP = "org.jcriu.dump.Dumper", RESTORE = "org.jcriu.restore.Restorer",
            CHECK = "org.jcriu.kerndat.Check", CPUINFO = "org.jcriu.cpuinfo.CpuInfo";

    private Engine() {}

    static boolean exists(String className) {
        return handle(className) != null;
    }

    /** The exit status; a missing engine is ENOTSUP naming the command. */
    static int run(String className, Options o) {
        MethodHandle mh = handle(className);
        if (mh == null) throw new CriuException(Errno.ENOTSUP, o.command + " is not supported by jcriu yet");
        try {
            return (int) mh.invokeExact(o);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new CriuException(o.command + " failed: " + t, t);
        }
    }

    private static MethodHandle handle(String className) {
        try {
            Class<?> c = Class.forName(className);
            return MethodHandles.publicLookup().findStatic(c, "run", MethodType.methodType(int.class, Options.class));
        } catch (ClassNotFoundException | NoSuchMethodException | IllegalAccessException e) {
            return null;
        }
    }
}

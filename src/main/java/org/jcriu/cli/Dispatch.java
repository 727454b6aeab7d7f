package org.jcriu.cli;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

import org.jcriu.CriuException;
import org.jcriu.opts.Options;

/**
 * Entry points of the commands whose engines do not exist yet: a public static
 * {@code int run(Options)} returning the exit status, looked up by name so that adding the class
 * is enough to make the command reachable (then move it to a direct call in Main.dispatch).
 * dump, pre-dump, restore, service, swrk and check are called directly.
 */
final class Dispatch {
    /** command -> class whose static int run(Options) does it. */
    static String entryPoint(String command) {
        return switch (command) {
            case "page-server" -> "org.jcriu.pageserver.PageServer";
            case "lazy-pages" -> "org.jcriu.lazy.LazyPages";
            case "dedup" -> "org.jcriu.dedup.Dedup";
            case "cpuinfo-dump", "cpuinfo-check" -> "org.jcriu.cpuinfo.CpuInfo";
            default -> null;
        };
    }

    private Dispatch() {}

    static int run(String className, Options o) {
        MethodHandle mh;
        try {
            Class<?> c = Class.forName(className);
            mh = MethodHandles.publicLookup().findStatic(c, "run", MethodType.methodType(int.class, Options.class));
        } catch (ClassNotFoundException | NoSuchMethodException | IllegalAccessException e) {
            throw new CriuException("command '" + o.command + "' is not implemented yet (" + className
                    + ".run(Options) is missing)");
        }
        try {
            return (int) mh.invokeExact(o);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new CriuException(o.command + " failed: " + t, t);
        }
    }
}

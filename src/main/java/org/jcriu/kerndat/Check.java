package org.jcriu.kerndat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.jcriu.CriuException;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;

/**
 * {@code jcriu check}: probes the running kernel for what jcriu needs, answering as criu does.
 * All required features present: "Looks good." and 0. A required one missing: each missing
 * feature on its own line, then "Does not look good.", exit 1. Only --extra/--experimental ones
 * missing: "Looks good but some kernel features are missing ...", exit 1.
 * {@code --feature NAME}: "NAME is supported" and 0, or why not and 1; {@code --feature list}
 * prints the names. Unlike criu, every missing required feature is reported, not only the first.
 */
public final class Check {
    private static final Logger LOG = Log.get("check");
    static final String GOOD = "Looks good.";
    static final String BAD = "Does not look good.";
    static final String MAYBE = "Looks good but some kernel features are missing\n"
            + "which, depending on your process tree, may cause\n"
            + "dump or restore failure.";

    private Check() {}

    public static int run(Options o) {
        return run(o, cmd -> true);
    }

    /**
     * As {@link #run(Options)}; {@code commandImplemented} says which jcriu commands exist, so that
     * {@code --feature uffd-noncoop} (what LXC asks before a lazy migration) does not answer
     * "supported" while jcriu has no lazy-pages command to use it.
     */
    public static int run(Options o, Predicate<String> commandImplemented) {
        if (o.feature != null) return feature(o.feature, commandImplemented);
        List<String> missing = new ArrayList<>();
        for (Features.Feature f : Features.category(1)) probe(f, missing);
        if (!missing.isEmpty()) {
            for (String m : missing) Log.msg("%s\n", m);
            Log.msg("%s\n", BAD);
            return 1;
        }
        if (o.extra) for (Features.Feature f : Features.category(2)) probe(f, missing);
        if (o.experimental) for (Features.Feature f : Features.category(3)) probe(f, missing);
        for (String m : missing) Log.msg("%s\n", m);
        Log.msg("%s\n", missing.isEmpty() ? GOOD : MAYBE);
        return missing.isEmpty() ? 0 : 1;
    }

    /** Features whose only use in jcriu is one command: asking for them means asking for it. */
    private static final Map<String, String> USED_BY = Map.of("uffd", "lazy-pages", "uffd-noncoop", "lazy-pages",
            "mem_dirty_track", "pre-dump");

    private static int feature(String name, Predicate<String> commandImplemented) {
        if (name.equals("list")) {
            for (String n : Features.names()) Log.msg("%s\n", n);
            return 0;
        }
        Features.Feature f = Features.get(name);
        if (f == null) throw new CriuException("Unknown feature " + name + " (see 'check --feature list')");
        List<String> missing = new ArrayList<>();
        probe(f, missing);
        String user = USED_BY.get(name);
        if (missing.isEmpty() && user != null && !commandImplemented.test(user)) {
            missing.add(name + ": the kernel has it, but jcriu has no " + user + " yet");
        }
        if (missing.isEmpty()) {
            Log.msg("%s is supported\n", name);
            return 0;
        }
        Log.msg("%s\n", missing.getFirst());
        return 1;
    }

    /** Runs one probe; a probe that throws counts as missing, with the exception's message. */
    static void probe(Features.Feature f, List<String> missing) {
        String why;
        try {
            why = f.probe().missing();
        } catch (Exception e) {
            why = e.getMessage() == null ? e.toString() : e.getMessage();
            LOG.debug("probe %s failed: %s", f.name(), e);
        }
        if (why == null) LOG.info("%s: ok", f.name());
        else {
            LOG.info("%s: missing (%s)", f.name(), why);
            missing.add(f.name() + ": " + why);
        }
    }
}

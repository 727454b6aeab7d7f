package org.jcriu.kerndat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Kernel facts for the rest of jcriu, by {@code check}'s feature names ("uffd-wp",
 * "pagemap_scan", "soft_dirty", "pidfd_store", ...). Each probe runs at most once per
 * process and its answer is cached, like CRIU's kdat. RPC FEATURE_CHECK maps to:
 * mem_track = pre-dump with --track-mem exists (it compares pages when nothing tracks them), lazy_pages = has("uffd") &amp;&amp; has("uffd-noncoop"),
 * pidfd_store = has("pidfd_store").
 */
public final class Kerndat {
    private static final Map<String, String> MISSING = new ConcurrentHashMap<>();
    private static final String OK = "";

    private Kerndat() {}

    /** True when the kernel has {@code feature}; an unknown name is an IllegalArgumentException. */
    public static boolean has(String feature) {
        return why(feature) == null;
    }

    /** Null when present, else what is missing (the line {@code check} prints). */
    public static String why(String feature) {
        Features.Feature f = Features.get(feature);
        if (f == null) throw new IllegalArgumentException("no kernel feature named " + feature);
        String r = MISSING.computeIfAbsent(feature, k -> {
            List<String> missing = new ArrayList<>();
            Check.probe(f, missing);
            return missing.isEmpty() ? OK : missing.getFirst();
        });
        return r.isEmpty() ? null : r;
    }
}

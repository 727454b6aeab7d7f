package org.jcriu.cli;

import java.util.Locale;

/**
 * Strict argument parsing. CRIU uses atoi() and accepts "12abc" as 12; jcriu rejects it with
 * CRIU's wording ("invalid argument for --tree: 12abc") so typos do not dump the wrong task.
 */
final class Values {
    private Values() {}

    static int positiveInt(String opt, String v) {
        int n = integer(opt, v);
        if (n <= 0) throw bad(opt, v);
        return n;
    }

    static int nonNegativeInt(String opt, String v) {
        int n = integer(opt, v);
        if (n < 0) throw bad(opt, v);
        return n;
    }

    static int port(String opt, String v) {
        int n = integer(opt, v);
        if (n <= 0 || n > 65535) throw bad(opt, v);
        return n;
    }

    static int integer(String opt, String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw bad(opt, v);
        }
    }

    /** A size with an optional K, M or G suffix (powers of 1024, as CRIU's parse_size). */
    static long size(String opt, String v) {
        String s = v.strip().toUpperCase(Locale.ROOT);
        long mult = 1;
        if (s.endsWith("K")) mult = 1L << 10;
        else if (s.endsWith("M")) mult = 1L << 20;
        else if (s.endsWith("G")) mult = 1L << 30;
        if (mult != 1) s = s.substring(0, s.length() - 1);
        try {
            long n = Long.parseLong(s);
            if (n < 0) throw bad(opt, v);
            return Math.multiplyExact(n, mult);
        } catch (NumberFormatException | ArithmeticException e) {
            throw bad(opt, v);
        }
    }

    static String choice(String opt, String v, String... allowed) {
        for (String a : allowed) if (a.equals(v)) return v;
        throw new UsageException("invalid argument for " + opt + ": " + v + " (expected one of: "
                + String.join(", ", allowed) + ")");
    }

    static UsageException bad(String opt, String v) {
        return new UsageException("invalid argument for " + opt + ": " + v);
    }
}

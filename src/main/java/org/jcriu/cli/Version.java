package org.jcriu.cli;

/**
 * What {@code --version} prints. The first two lines are CRIU's shape, which tools parse:
 * LXC reads {@code "Version: %s"} and {@code "GitID: v%[^-]-%d"}. jcriu implements CRIU 4.2's
 * interfaces, so it reports 4.2 there; the GitID names jcriu instead of a CRIU commit
 * ({@code v4.2-0-jcriu-<version>}, patch count 0). jcriu's own version follows on a third line,
 * {@code jcriu: <version> (Java <runtime version>)}, which no CRIU client reads.
 */
final class Version {
    static final String CRIU = "4.2";

    private Version() {}

    static String jcriu() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    static String gitId() {
        return "v" + CRIU + "-0-jcriu-" + jcriu();
    }

    static String text() {
        return "Version: " + CRIU + "\n"
                + "GitID: " + gitId() + "\n"
                + "jcriu: " + jcriu() + " (Java " + Runtime.version() + ")\n";
    }
}

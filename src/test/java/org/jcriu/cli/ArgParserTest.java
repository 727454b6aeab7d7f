package org.jcriu.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.jcriu.opts.Options;
import org.junit.jupiter.api.Test;

class ArgParserTest {
    static final class R {
        final Options o = new Options();
        final ArgParser.Seen seen = new ArgParser.Seen();
    }

    static R parse(String... args) {
        R r = new R();
        List<ArgParser.Token> t = new ArrayList<>();
        for (String a : args) t.add(new ArgParser.Token(a, "command line", false));
        ArgParser.parse(t, r.o, r.seen);
        return r;
    }

    static String error(String... args) {
        return assertThrows(UsageException.class, () -> parse(args)).getMessage();
    }

    @Test
    void treeInEveryForm() {
        assertEquals(123, parse("-t123").o.pid);
        assertEquals(123, parse("-t", "123").o.pid);
        assertEquals(123, parse("--tree=123").o.pid);
        assertEquals(123, parse("--tree", "123").o.pid);
        assertEquals(123, parse("--tre", "123").o.pid);
    }

    @Test
    void clusteredShortOptions() {
        R r = parse("-dSj", "-lt", "7");
        assertTrue(r.o.restoreDetached);
        assertTrue(r.o.restoreSibling);
        assertTrue(r.o.shellJob);
        assertTrue(r.o.fileLocks);
        assertEquals(7, r.o.pid);
    }

    @Test
    void verbosityLikeCriu() {
        assertEquals(2, parse().o.logLevel);
        assertEquals(3, parse("-v").o.logLevel);
        assertEquals(4, parse("-v", "-v").o.logLevel);
        assertEquals(4, parse("-v4").o.logLevel);
        assertEquals(0, parse("-v0").o.logLevel);
        // CRIU adds strlen(optarg)+1 for -vvvv: 2 + 4
        assertEquals(6, parse("-vvvv").o.logLevel);
        assertEquals(1, parse("--verbosity=1").o.logLevel);
        assertEquals(3, parse("--verbosity").o.logLevel);
        assertEquals("invalid argument for -v: x", error("-vx"));
    }

    @Test
    void negatedBooleansAndLastOneWins() {
        assertTrue(parse("--tcp-established").o.tcpEstablished);
        assertFalse(parse("--tcp-established", "--no-tcp-established").o.tcpEstablished);
        assertTrue(parse("--no-display-stats", "--display-stats").o.displayStats);
        assertFalse(parse("--no-ghost-fiemap").o.ghostFiemap);
        assertFalse(parse("-j", "--no-shell-job").o.shellJob);
        assertFalse(parse("-d", "--no-restore-detached").o.restoreDetached);
    }

    @Test
    void requestedRecordsWhatAsksForBehaviour() {
        R r = parse("-R", "--no-tcp-established", "--no-ghost-fiemap", "--display-stats", "-t", "1");
        assertEquals(List.of("leave-running", "no-ghost-fiemap", "display-stats", "tree"), List.copyOf(r.seen.requested));
    }

    @Test
    void operandsMayBeInterleavedAndDoubleDashEndsOptions() {
        R r = parse("-D", "/x", "restore", "--exec-cmd", "-d", "--", "sh", "-c", "true");
        assertEquals(List.of("restore", "sh", "-c", "true"), r.seen.operands);
        assertEquals(Path.of("/x"), r.o.imagesDir);
        assertTrue(r.o.execCmdSet);
        assertEquals(List.of("-"), parse("-").seen.operands);
    }

    @Test
    void optionalArgumentsOnlyWhenAttached() {
        R r = parse("--manage-cgroups", "full");
        assertEquals("soft", r.o.manageCgroups);
        assertEquals(List.of("full"), r.seen.operands);
        assertEquals("full", parse("--manage-cgroups=full").o.manageCgroups);
        R x = parse("-x", "5");
        assertTrue(x.o.extUnixSk);
        assertEquals(List.of(), x.o.extUnixSkIds);
        assertEquals(List.of("5", "6"), parse("-x5,6").o.extUnixSkIds);
    }

    @Test
    void sizesAndNumbers() {
        assertEquals(50L << 20, parse("--ghost-limit", "50M").o.ghostLimit);
        assertEquals(1L << 30, parse("--ghost-limit=1G").o.ghostLimit);
        assertEquals(4096, parse("--ghost-limit", "4K").o.ghostLimit);
        assertEquals(180, parse("--timeout", "180").o.timeout);
        assertEquals(8080, parse("--port", "8080").o.port);
        assertEquals("invalid argument for --port: 70000", error("--port", "70000"));
        assertEquals("invalid argument for --tree: 0", error("-t", "0"));
        assertEquals("invalid argument for --tree: 12abc", error("-t", "12abc"));
        assertEquals("invalid argument for --ghost-limit: lots", error("--ghost-limit", "lots"));
        assertEquals("invalid argument for --timeout: -1", error("--timeout=-1"));
    }

    @Test
    void cpuCapLikeCriu() {
        assertEquals(Options.CPU_CAP_DEFAULT, parse().o.cpuCap);
        assertEquals(Options.CPU_CAP_ALL | Options.CPU_CAP_IMAGE, parse("--cpu-cap").o.cpuCap);
        assertEquals(Options.CPU_CAP_NONE, parse("--cpu-cap=none").o.cpuCap);
        assertEquals(Options.CPU_CAP_INS | Options.CPU_CAP_IMAGE, parse("--cpu-cap=^fpu").o.cpuCap);
        assertEquals(Options.CPU_CAP_ALL | Options.CPU_CAP_IMAGE, parse("--cpu-cap=fpu,cpu,ins").o.cpuCap);
        assertEquals("invalid argument for --cpu-cap: gpu (expected a comma list of fpu, cpu, ins, all, none)",
                error("--cpu-cap=gpu"));
    }

    @Test
    void choices() {
        assertEquals("skip", parse("--network-lock", "none").o.networkLock);
        assertEquals("read", parse("--pre-dump-mode=read").o.preDumpMode);
        assertEquals("filesize", parse("--file-validation", "filesize").o.fileValidation);
        assertEquals("invalid argument for --network-lock: pf (expected one of: iptables, nftables, skip, none)",
                error("--network-lock", "pf"));
        assertEquals("Unsupported empty namespace: pid", error("--empty-ns", "pid"));
    }

    @Test
    void structuredArgumentsAreChecked() {
        assertEquals(List.of("fd[3]:pipe:[1234]"), parse("--inherit-fd", "fd[3]:pipe:[1234]").o.inheritFd);
        assertEquals("invalid argument for --inherit-fd: 3:pipe (expected fd[N]:resource)", error("--inherit-fd", "3:pipe"));
        assertEquals(List.of("net:/proc/1/ns/net"), parse("-J", "net:/proc/1/ns/net").o.joinNs);
        assertEquals("invalid argument for --join-ns: netns", error("--join-ns", "netns"));
        assertEquals("invalid argument for --veth-pair: eth0", error("--veth-pair", "eth0"));
        assertTrue(parse("-M", "auto").o.autoExtMnt);
        assertEquals(List.of("hugetlbfs", "tracefs"), parse("--enable-fs", "hugetlbfs,tracefs").o.enableFs);
        assertEquals("invalid argument for --external: mnt (expected type[id]:value)", error("--external", "mnt"));
    }

    @Test
    void badInvocationsHaveExactMessages() {
        assertEquals("unknown option '--bogus'", error("--bogus"));
        assertEquals("unknown option '-q'", error("-q"));
        assertEquals("option '--tree' requires an argument", error("--tree"));
        assertEquals("option '-t' requires an argument", error("-t"));
        assertEquals("option '--leave-running' doesn't allow an argument", error("--leave-running=yes"));
        assertEquals("option '--tc' is ambiguous; possibilities: --tcp-established --tcp-close", error("--tc"));
        assertEquals("unknown option '--no-tree'", error("--no-tree"));
        assertEquals("--ms is deprecated; see \"Check options\" of criu --help", error("--ms"));
    }

    @Test
    void helpAndVersionStopParsing() {
        R h = parse("-h", "--bogus");
        assertTrue(h.seen.help);
        R v = parse("-V", "--bogus");
        assertTrue(v.seen.version);
        assertTrue(parse("--vers").seen.version);
    }

    @Test
    void allAndCheckOptions() {
        R r = parse("--all", "--feature", "uffd");
        assertTrue(r.o.extra);
        assertTrue(r.o.experimental);
        assertEquals("uffd", r.o.feature);
    }

    /** Every option of the table parses with a valid argument, so no setter is broken. */
    @Test
    void everyOptionParses() {
        Map<String, String> sample = Map.ofEntries(Map.entry("tree", "1"), Map.entry("close", "99"),
                Map.entry("timeout", "5"), Map.entry("ghost-limit", "1M"), Map.entry("port", "1"),
                Map.entry("ps-socket", "3"), Map.entry("status-fd", "3"), Map.entry("pre-dump-mode", "read"),
                Map.entry("file-validation", "buildid"), Map.entry("network-lock", "skip"),
                Map.entry("empty-ns", "net"), Map.entry("inherit-fd", "fd[0]:tty[1:2]"),
                Map.entry("join-ns", "uts:1"), Map.entry("veth-pair", "a=b"), Map.entry("external", "mnt[]"),
                Map.entry("ext-mount-map", "a:b"), Map.entry("verbosity", "3"), Map.entry("manage-cgroups", "none"),
                Map.entry("cpu-cap", "ins"), Map.entry("ext-unix-sk", "1"));
        int n = 0;
        for (OptionDef d : OptionTable.byName().values()) {
            if (d.name().equals("ms") || d.name().equals("help") || d.name().equals("version")) continue;
            String arg = sample.getOrDefault(d.name(), "x");
            R r = switch (d.arg()) {
                case NONE -> parse("--" + d.name());
                case REQUIRED -> parse("--" + d.name(), arg);
                case OPTIONAL -> parse("--" + d.name() + "=" + arg);
            };
            assertEquals(List.of(), r.seen.operands, d.name());
            if (d.isFlag()) parse("--no-" + d.name());
            n++;
        }
        assertTrue(n > 80, "only " + n + " options");
    }
    /**
     * Every option criu(8) 4.2 documents (../shared/spec/criu.8.txt: its OPTIONS section, long
     * and short forms) is in the table, with the short letter the manual gives it, and the
     * manual's negative forms parse. "--inheritfd" in the manual's text is a typo of --inherit-fd.
     */
    @Test
    void everyOptionOfTheManualIsInTheTable() {
        String[] manual = {"action-script", "address", "all", "auto-dedup", "cgroup-dump-controller", "cgroup-props",
                "cgroup-props-file", "cgroup-root", "cgroup-yard", "close", "config", "cpu-cap", "daemon", "display-stats",
                "enable-fs", "evasive-devices", "experimental", "external", "extra", "feature", "file-locks", "file-validation",
                "force-irmap", "freeze-cgroup", "ghost-fiemap", "ghost-limit", "help", "images-dir", "inherit-fd", "join-ns",
                "lazy-pages", "leave-running", "leave-stopped", "libdir", "link-remap", "log-file", "log-pid", "lsm-mount-context",
                "lsm-profile", "manage-cgroups", "network-lock", "no-default-config", "page-server", "pidfile", "port",
                "pre-dump-mode", "prev-images-dir", "ps-socket", "restore-detached", "restore-sibling", "root", "shell-job",
                "skip-file-rwx-check", "skip-in-flight", "status-fd", "stream", "tcp-close", "tcp-established", "timeout", "tls",
                "tls-cacert", "tls-cacrl", "tls-cert", "tls-key", "track-mem", "tree", "unprivileged", "verbosity", "version",
                "veth-pair", "weak-sysctls", "work-dir"};
        List<String> missing = new ArrayList<>();
        for (String n : manual) if (!OptionTable.byName().containsKey(n)) missing.add("--" + n);
        assertEquals(List.of(), missing);
        Map<Character, String> shorts = Map.ofEntries(Map.entry('D', "images-dir"), Map.entry('J', "join-ns"),
                Map.entry('L', "libdir"), Map.entry('R', "leave-running"), Map.entry('S', "restore-sibling"),
                Map.entry('V', "version"), Map.entry('W', "work-dir"), Map.entry('d', "restore-detached"), Map.entry('h', "help"),
                Map.entry('j', "shell-job"), Map.entry('l', "file-locks"), Map.entry('o', "log-file"), Map.entry('r', "root"),
                Map.entry('s', "leave-stopped"), Map.entry('t', "tree"), Map.entry('v', "verbosity"));
        shorts.forEach((c, n) -> {
            OptionDef d = OptionTable.byShort(c);
            assertEquals(n, d == null ? null : d.name(), "-" + c);
        });
        assertFalse(parse("--display-stats", "--no-display-stats").o.displayStats);
        assertFalse(parse("--ghost-fiemap", "--no-ghost-fiemap").o.ghostFiemap);
    }
}

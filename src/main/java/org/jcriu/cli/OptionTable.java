package org.jcriu.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.jcriu.cli.OptionDef.Arg;
import org.jcriu.cli.OptionDef.Flag;
import org.jcriu.cli.OptionDef.Setter;
import org.jcriu.opts.Options;

/**
 * The whole option set of criu(8) 4.2 (criu/config.c {@code long_opts}, short options
 * {@code dSsRt:hD:o:v::x::Vr:jJ:lW:L:M:}), in one table. Each entry says for which commands it
 * changes behaviour: an option set for such a command must be listed in {@link Implemented}
 * or the command fails naming it. Options outside their scope are accepted and have no effect,
 * as in CRIU (config files are shared by all commands).
 */
final class OptionTable {
    static final Set<String> CLI = Set.of();
    static final Set<String> DUMP = Set.of("dump", "pre-dump");
    static final Set<String> DUMP_ONLY = Set.of("dump");
    static final Set<String> RST = Set.of("restore");
    static final Set<String> DR = Set.of("dump", "pre-dump", "restore");
    static final Set<String> DR1 = Set.of("dump", "restore");
    static final Set<String> PS = Set.of("page-server", "lazy-pages", "dump", "pre-dump", "service");
    static final Set<String> DAEMONS = Set.of("restore", "page-server", "lazy-pages", "service");
    static final Set<String> CHECK = Set.of("check");
    static final Set<String> ALL = Set.of("dump", "pre-dump", "restore", "lazy-pages", "check", "page-server",
            "service", "dedup", "cpuinfo-dump", "cpuinfo-check");

    private static final Map<String, OptionDef> BY_NAME;
    private static final Map<Character, OptionDef> BY_SHORT;

    static {
        List<OptionDef> l = new ArrayList<>();
        // Common (handled by the command line for every command)
        l.add(opt("verbosity", 'v', Arg.OPTIONAL, CLI, OptionTable::verbosity));
        l.add(opt("log-file", 'o', Arg.REQUIRED, CLI, (o, a) -> o.logFile = a));
        l.add(opt("images-dir", 'D', Arg.REQUIRED, CLI, (o, a) -> o.imagesDir = Path.of(a)));
        l.add(opt("work-dir", 'W', Arg.REQUIRED, CLI, (o, a) -> o.workDir = Path.of(a)));
        l.add(opt("config", '\0', Arg.REQUIRED, CLI, (o, a) -> o.config = Path.of(a)));
        l.add(opt("no-default-config", '\0', Arg.NONE, CLI, (o, a) -> o.noDefaultConfig = true));
        l.add(opt("help", 'h', Arg.NONE, CLI, (o, a) -> {}));
        l.add(opt("version", 'V', Arg.NONE, CLI, (o, a) -> {}));
        l.add(flag("deprecated", CLI, (o, v) -> o.deprecated = v));
        l.add(opt("close", '\0', Arg.REQUIRED, CLI, (o, a) -> o.close.add(Values.nonNegativeInt("--close", a))));
        l.add(opt("pidfile", '\0', Arg.REQUIRED, DAEMONS, (o, a) -> o.pidfile = Path.of(a)));
        l.add(flag("log-pid", RST, (o, v) -> o.logPid = v));
        l.add(flag("display-stats", DR, (o, v) -> o.displayStats = v));
        l.add(flag("stream", DR, (o, v) -> o.stream = v));
        l.add(opt("prev-images-dir", '\0', Arg.REQUIRED, DUMP, (o, a) -> o.prevImagesDir = Path.of(a)));
        l.add(opt("libdir", 'L', Arg.REQUIRED, DR, (o, a) -> o.libdir = a));
        l.add(opt("enable-fs", '\0', Arg.REQUIRED, DR1, OptionTable::enableFs));
        l.add(opt("action-script", '\0', Arg.REQUIRED, DR, (o, a) -> o.actionScript.add(a)));
        l.add(flag("unprivileged", DR, (o, v) -> o.unprivileged = v));
        // Dump / pre-dump
        l.add(opt("tree", 't', Arg.REQUIRED, DUMP, (o, a) -> o.pid = Values.positiveInt("--tree", a)));
        l.add(opt("leave-running", 'R', Arg.NONE, DUMP_ONLY, (o, a) -> { o.leaveRunning = true; o.leaveStopped = false; }));
        l.add(opt("leave-stopped", 's', Arg.NONE, DR1, (o, a) -> { o.leaveStopped = true; o.leaveRunning = false; }));
        l.add(flag("track-mem", DUMP, (o, v) -> o.trackMem = v));
        l.add(opt("pre-dump-mode", '\0', Arg.REQUIRED, DUMP,
                (o, a) -> o.preDumpMode = Values.choice("--pre-dump-mode", a, "splice", "read")));
        l.add(opt("external", '\0', Arg.REQUIRED, DR1, OptionTable::external));
        l.add(opt("freeze-cgroup", '\0', Arg.REQUIRED, DUMP, (o, a) -> { o.freezeCgroup = a; o.freezeCgroupSet = true; }));
        l.add(opt("manage-cgroups", '\0', Arg.OPTIONAL, DR1, OptionTable::manageCgroups));
        l.add(opt("cgroup-props", '\0', Arg.REQUIRED, DUMP_ONLY, (o, a) -> o.cgroupProps = a));
        l.add(opt("cgroup-props-file", '\0', Arg.REQUIRED, DUMP_ONLY, (o, a) -> o.cgroupPropsFile = a));
        l.add(opt("cgroup-dump-controller", '\0', Arg.REQUIRED, DUMP_ONLY, (o, a) -> o.cgroupDumpController.add(a)));
        l.add(opt("cgroup-yard", '\0', Arg.REQUIRED, DR1, (o, a) -> o.cgroupYard = a));
        l.add(opt("cgroup-root", '\0', Arg.REQUIRED, DR1, (o, a) -> o.cgroupRoot.add(a)));
        l.add(flag("tcp-established", DR1, (o, v) -> o.tcpEstablished = v));
        l.add(flag("tcp-close", DR1, (o, v) -> o.tcpClose = v));
        l.add(flag("skip-in-flight", DUMP_ONLY, (o, v) -> o.skipInFlight = v));
        l.add(flag("evasive-devices", DR1, (o, v) -> o.evasiveDevices = v));
        l.add(flag("page-server", DUMP, (o, v) -> o.pageServer = v));
        l.add(flag("force-irmap", DUMP, (o, v) -> o.forceIrmap = v));
        l.add(opt("irmap-scan-path", '\0', Arg.REQUIRED, DUMP, (o, a) -> o.irmapScanPath.add(a)));
        l.add(flag("auto-dedup", DR1, (o, v) -> o.autoDedup = v));
        l.add(flag("file-locks", 'l', DR1, (o, v) -> o.fileLocks = v));
        l.add(flag("link-remap", DR1, (o, v) -> o.linkRemap = v));
        l.add(opt("timeout", '\0', Arg.REQUIRED, DUMP, (o, a) -> o.timeout = Values.nonNegativeInt("--timeout", a)));
        l.add(opt("ghost-limit", '\0', Arg.REQUIRED, DUMP_ONLY, (o, a) -> o.ghostLimit = Values.size("--ghost-limit", a)));
        l.add(flag("ghost-fiemap", DUMP_ONLY, (o, v) -> o.ghostFiemap = v));
        l.add(flag("shell-job", 'j', DR1, (o, v) -> o.shellJob = v));
        l.add(opt("cpu-cap", '\0', Arg.OPTIONAL, Set.of("dump", "restore", "cpuinfo-check"), OptionTable::cpuCap));
        l.add(opt("lazy-pages", '\0', Arg.NONE, Set.of("dump", "restore", "page-server"), (o, a) -> o.lazyPages = true));
        l.add(opt("file-validation", '\0', Arg.REQUIRED, DR1,
                (o, a) -> o.fileValidation = Values.choice("--file-validation", a, "filesize", "buildid")));
        l.add(opt("network-lock", '\0', Arg.REQUIRED, DUMP_ONLY, OptionTable::networkLock));
        l.add(opt("ext-unix-sk", 'x', Arg.OPTIONAL, DR1, OptionTable::extUnixSk));
        l.add(opt("ext-mount-map", 'M', Arg.REQUIRED, DR1, OptionTable::extMountMap));
        l.add(opt("enable-external-sharing", '\0', Arg.NONE, DUMP_ONLY, (o, a) -> o.enableExternalSharing = true));
        l.add(opt("enable-external-masters", '\0', Arg.NONE, DUMP_ONLY, (o, a) -> o.enableExternalMasters = true));
        l.add(opt("skip-mnt", '\0', Arg.REQUIRED, DUMP_ONLY, (o, a) -> o.skipMnt.add(a)));
        l.add(opt("empty-ns", '\0', Arg.REQUIRED, DR1, OptionTable::emptyNs));
        l.add(flag("allow-uprobes", DR1, (o, v) -> o.allowUprobes = v));
        l.add(opt("ms", '\0', Arg.NONE, CLI, (o, a) -> {
            throw new UsageException("--ms is deprecated; see \"Check options\" of criu --help");
        }));
        // Restore
        l.add(flag("restore-detached", 'd', DAEMONS, (o, v) -> o.restoreDetached = v));
        l.add(flag("daemon", DAEMONS, (o, v) -> o.restoreDetached = v));
        l.add(flag("restore-sibling", 'S', RST, (o, v) -> o.restoreSibling = v));
        l.add(opt("root", 'r', Arg.REQUIRED, DR1, (o, a) -> o.root = Path.of(a)));
        l.add(opt("inherit-fd", '\0', Arg.REQUIRED, RST, OptionTable::inheritFd));
        l.add(opt("join-ns", 'J', Arg.REQUIRED, RST, OptionTable::joinNs));
        l.add(opt("veth-pair", '\0', Arg.REQUIRED, RST, (o, a) -> {
            if (a.indexOf('=') <= 0) throw Values.bad("--veth-pair", a);
            o.vethPair.add(a);
        }));
        l.add(opt("lsm-profile", '\0', Arg.REQUIRED, RST, (o, a) -> o.lsmProfile = a));
        l.add(opt("lsm-mount-context", '\0', Arg.REQUIRED, RST, (o, a) -> o.lsmMountContext = a));
        l.add(flag("weak-sysctls", RST, (o, v) -> o.weakSysctls = v));
        l.add(flag("mntns-compat-mode", RST, (o, v) -> o.mntnsCompatMode = v));
        l.add(flag("skip-file-rwx-check", RST, (o, v) -> o.skipFileRwxCheck = v));
        l.add(opt("exec-cmd", '\0', Arg.NONE, RST, (o, a) -> o.execCmdSet = true));
        // Page server, lazy pages, service
        l.add(opt("address", '\0', Arg.REQUIRED, PS, (o, a) -> o.address = a));
        l.add(opt("port", '\0', Arg.REQUIRED, PS, (o, a) -> o.port = Values.port("--port", a)));
        l.add(opt("ps-socket", '\0', Arg.REQUIRED, PS, (o, a) -> o.psSocket = Values.nonNegativeInt("--ps-socket", a)));
        l.add(opt("status-fd", '\0', Arg.REQUIRED, DAEMONS, (o, a) -> o.statusFd = Values.nonNegativeInt("--status-fd", a)));
        l.add(opt("tls-cacert", '\0', Arg.REQUIRED, PS, (o, a) -> o.tlsCacert = a));
        l.add(opt("tls-cacrl", '\0', Arg.REQUIRED, PS, (o, a) -> o.tlsCacrl = a));
        l.add(opt("tls-cert", '\0', Arg.REQUIRED, PS, (o, a) -> o.tlsCert = a));
        l.add(opt("tls-key", '\0', Arg.REQUIRED, PS, (o, a) -> o.tlsKey = a));
        l.add(flag("tls", PS, (o, v) -> o.tls = v));
        l.add(opt("tls-no-cn-verify", '\0', Arg.NONE, PS, (o, a) -> o.tlsNoCnVerify = true));
        // Check
        l.add(flag("extra", CHECK, (o, v) -> o.extra = v));
        l.add(flag("experimental", CHECK, (o, v) -> o.experimental = v));
        l.add(opt("all", '\0', Arg.NONE, CHECK, (o, a) -> { o.extra = true; o.experimental = true; }));
        l.add(opt("feature", '\0', Arg.REQUIRED, CHECK, (o, a) -> o.feature = a));

        Map<String, OptionDef> byName = new LinkedHashMap<>();
        Map<Character, OptionDef> byShort = new LinkedHashMap<>();
        for (OptionDef d : l) {
            if (byName.put(d.name(), d) != null) throw new IllegalStateException("duplicate option " + d.name());
            if (d.shortName() != '\0') byShort.put(d.shortName(), d);
        }
        BY_NAME = Collections.unmodifiableMap(byName);
        BY_SHORT = Collections.unmodifiableMap(byShort);
    }

    private OptionTable() {}

    /** Every long option name, without the {@code no-} twins. */
    static Map<String, OptionDef> byName() {
        return BY_NAME;
    }

    static OptionDef byShort(char c) {
        return BY_SHORT.get(c);
    }

    private static OptionDef opt(String name, char shortName, Arg arg, Set<String> scope, Setter s) {
        return new OptionDef(name, shortName, arg, scope, s, null);
    }

    private static OptionDef flag(String name, Set<String> scope, Flag f) {
        return flag(name, '\0', scope, f);
    }

    private static OptionDef flag(String name, char shortName, Set<String> scope, Flag f) {
        return new OptionDef(name, shortName, Arg.NONE, scope, null, f);
    }

    private static void verbosity(Options o, String a) {
        if (a == null) {
            o.logLevel++;
        } else if (a.chars().allMatch(c -> c == 'v')) {
            // -vvv reaches here as "-v" with optional argument "vv": CRIU adds len+1
            o.logLevel += a.length() + 1;
        } else {
            o.logLevel = Values.nonNegativeInt("-v", a);
        }
    }

    private static void enableFs(Options o, String a) {
        for (String fs : a.split(",")) {
            if (fs.isEmpty()) throw Values.bad("--enable-fs", a);
            o.enableFs.add(fs);
        }
    }

    private static void external(Options o, String a) {
        int lb = a.indexOf('['), rb = a.indexOf(']');
        if (lb <= 0 || rb < lb) throw new UsageException("invalid argument for --external: " + a
                + " (expected type[id]:value)");
        o.external.add(a);
    }

    private static void manageCgroups(Options o, String a) {
        o.manageCgroupsSet = true;
        o.manageCgroups = a == null ? "soft"
                : Values.choice("--manage-cgroups", a, "none", "props", "soft", "full", "strict", "ignore");
    }

    private static void networkLock(Options o, String a) {
        String v = Values.choice("--network-lock", a, "iptables", "nftables", "skip", "none");
        o.networkLock = v.equals("none") ? "skip" : v;
        o.networkLockSet = true;
    }

    private static void extUnixSk(Options o, String a) {
        o.extUnixSk = true;
        if (a == null) return;
        for (String ino : a.split(",")) {
            try {
                Long.parseUnsignedLong(ino);
            } catch (NumberFormatException e) {
                throw Values.bad("--ext-unix-sk", a);
            }
            o.extUnixSkIds.add(ino);
        }
    }

    private static void extMountMap(Options o, String a) {
        if (a.equals("auto")) {
            o.autoExtMnt = true;
            return;
        }
        if (a.indexOf(':') <= 0) throw Values.bad("--ext-mount-map", a);
        o.extMountMap.add(a);
    }

    private static void emptyNs(Options o, String a) {
        if (!a.equals("net")) throw new UsageException("Unsupported empty namespace: " + a);
        o.emptyNs |= Options.CLONE_NEWNET;
    }

    private static void inheritFd(Options o, String a) {
        // fd[N]:resource
        if (!a.startsWith("fd[") || a.indexOf("]:") < 0) throw new UsageException(
                "invalid argument for --inherit-fd: " + a + " (expected fd[N]:resource)");
        String n = a.substring(3, a.indexOf("]:"));
        Values.nonNegativeInt("--inherit-fd", n);
        if (a.substring(a.indexOf("]:") + 2).isEmpty()) throw Values.bad("--inherit-fd", a);
        o.inheritFd.add(a);
    }

    private static void joinNs(Options o, String a) {
        int c = a.indexOf(':');
        if (c <= 0 || c == a.length() - 1) throw Values.bad("--join-ns", a);
        Values.choice("--join-ns", a.substring(0, c), "ipc", "net", "time", "user", "uts");
        o.joinNs.add(a);
    }

    /** CRIU's parse_cpu_cap: comma list of fpu,cpu,ins,all,none, '^' inverts; no argument = all. */
    private static void cpuCap(Options o, String a) {
        if (a == null || a.isEmpty()) {
            o.cpuCap |= Options.CPU_CAP_ALL | Options.CPU_CAP_IMAGE;
            return;
        }
        boolean inverse = false;
        int i = 0;
        while (i < a.length()) {
            char ch = a.charAt(i);
            if (ch == '^') {
                inverse = !inverse;
                i++;
                continue;
            }
            if (ch == ',') {
                inverse = false;
                i++;
                continue;
            }
            String rest = a.substring(i);
            int bit;
            if (rest.startsWith("fpu")) bit = Options.CPU_CAP_FPU;
            else if (rest.startsWith("cpu")) bit = Options.CPU_CAP_CPU;
            else if (rest.startsWith("ins")) bit = Options.CPU_CAP_INS;
            else if (rest.startsWith("all")) bit = Options.CPU_CAP_ALL;
            else if (rest.startsWith("none")) {
                o.cpuCap = inverse ? Options.CPU_CAP_ALL : Options.CPU_CAP_NONE;
                i += 4;
                continue;
            } else throw new UsageException("invalid argument for --cpu-cap: " + a
                    + " (expected a comma list of fpu, cpu, ins, all, none)");
            o.cpuCap = inverse ? o.cpuCap & ~bit : o.cpuCap | bit;
            i += 3;
        }
        if (o.cpuCap != Options.CPU_CAP_NONE) o.cpuCap |= Options.CPU_CAP_IMAGE;
    }
}

package org.jcriu.service;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;

import com.google.protobuf.Descriptors.FieldDescriptor;

import org.jcriu.CriuException;
import org.jcriu.cli.RpcSupport;
import org.jcriu.image.proto.CriuOpts;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.sys.Errno;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;

/**
 * criu_opts -> {@link Options}, in the order of CRIU's setup_opts_from_req: the request's
 * fields, then its config_file (which overrides them), then the images dir, the work dir and the
 * log. A field that maps to a command-line option is turned into that option's words and applied
 * by the command line's own parser, so it means exactly the same thing; a field whose value
 * differs from CRIU's default and that jcriu does not honour for this command is refused with
 * EBADRQC and a message naming it. No field set in a request is ever silently ignored: the
 * switch below runs over the fields actually present.
 */
final class RpcOptions {
    private static final Logger LOG = Log.get("cr-service");
    static final String DEFAULT_LOG = "criu.log";

    /** Where the request's log goes: a file in the work dir, or stderr; and its level. */
    record LogSetup(Path file, int level) {}

    private final CriuOpts req;
    private final Options o;
    private final Peer peer;
    private final boolean swrk;
    /** CLI words built from the request, and for each option name the RPC field it came from. */
    private final List<String> words = new ArrayList<>();
    private final Map<String, String> fieldOf = new LinkedHashMap<>();
    boolean notifyScripts;

    private RpcOptions(CriuOpts req, Options o, Peer peer, boolean swrk) {
        this.req = req;
        this.o = o;
        this.peer = peer;
        this.swrk = swrk;
    }

    static CriuException refuse(String msg) {
        return new CriuException(Errno.EBADRQC, msg);
    }

    /**
     * Fills {@code o} (whose {@code command} is already set) from {@code req}. Returns where the
     * log goes; throws a CriuException with EBADRQC for anything refused.
     */
    static LogSetup apply(CriuOpts req, Options o, Peer peer, boolean swrk) {
        RpcOptions r = new RpcOptions(req == null ? CriuOpts.getDefaultInstance() : req, o, peer, swrk);
        return r.apply();
    }

    private LogSetup apply() {
        boolean check = o.command.equals("check");
        if (check && (!req.hasLogFile() || req.getLogToStderr())) {
            // CHECK needs no directories unless it logs to a file (cr-service.c)
            return new LogSetup(null, req.getLogLevel());
        }
        for (Map.Entry<FieldDescriptor, Object> e : req.getAllFields().entrySet()) field(e.getKey(), e.getValue());

        SequencedSet<String> requested;
        try {
            requested = RpcSupport.apply(o, words, "RPC request");
        } catch (CriuException e) {
            throw refuse("bad RPC options: " + e.getMessage());
        }
        if (req.hasCpuCap()) o.cpuCap = req.getCpuCap() | Options.CPU_CAP_IMAGE; // criu replaces the mode, image bit added
        for (String opt : requested) {
            if (RpcSupport.notImplemented(o.command, opt)) {
                throw refuse("RPC option " + fieldOf.getOrDefault(opt, opt) + " (--" + opt + ") is not supported by jcriu"
                        + " yet for " + o.command);
            }
        }

        // The RPC config file overrides the request; its -o/-W/-D win over the request's fields.
        String cfgLog = null;
        Path cfgWork = null, cfgImages = null;
        if (req.hasConfigFile() && !req.getConfigFile().isEmpty()) {
            String saveLog = o.logFile;
            Path saveWork = o.workDir;
            o.logFile = null;
            o.workDir = null;
            o.imagesDir = null;
            SequencedSet<String> fromCfg;
            try {
                fromCfg = RpcSupport.applyConfigFile(o, Path.of(req.getConfigFile()));
            } catch (CriuException e) {
                throw refuse("RPC config file " + req.getConfigFile() + ": " + e.getMessage());
            }
            if (fromCfg == null) {
                LOG.debug("RPC config file %s not readable, ignored", req.getConfigFile());
            } else {
                for (String opt : fromCfg) {
                    if (RpcSupport.notImplemented(o.command, opt)) {
                        throw refuse("option --" + opt + " in RPC config file " + req.getConfigFile()
                                + " is not supported by jcriu yet for " + o.command);
                    }
                }
            }
            cfgLog = o.logFile;
            cfgWork = o.workDir;
            cfgImages = o.imagesDir;
            if (cfgLog == null) o.logFile = saveLog;
            if (cfgWork == null) o.workDir = saveWork;
        }

        // criu checks only the field; a config file could still ask for it. Here the root would
        // become a child of the service daemon (the worker's parent), which never waits for it.
        if (!swrk && o.restoreSibling && o.command.equals("restore")) {
            throw refuse("restore-sibling is not allowed in standalone service (config file " + req.getConfigFile() + ")");
        }

        Path images;
        if (cfgImages != null) images = cfgImages.toAbsolutePath();
        else if (req.getImagesDirFd() != -1) images = peer.directory(req.getImagesDirFd(), "images_dir_fd");
        else if (req.hasImagesDir() && !req.getImagesDir().isEmpty()) images = Path.of(req.getImagesDir()).toAbsolutePath();
        else if (check) images = null;
        else throw refuse("Neither images_dir_fd nor images_dir was passed by RPC client");
        if (images != null) {
            if (!images.toFile().isDirectory()) throw refuse("Can't open images directory " + images);
            peer.checkOwns(images, "images directory");
        }
        o.imagesDir = images;

        Path work;
        if (cfgWork != null) work = cfgWork.toAbsolutePath();
        else if (req.hasWorkDirFd()) work = peer.directory(req.getWorkDirFd(), "work_dir_fd");
        else if (o.workDir != null) work = o.workDir.toAbsolutePath();
        else work = images;
        if (work == null) throw refuse("images-dir or work-dir is required when using log file");
        if (!work.toFile().isDirectory()) throw refuse("Can't chdir to work_dir " + work);
        if (work != images) peer.checkOwns(work, "work directory");
        o.workDir = work;
        if (o.prevImagesDir != null && !o.prevImagesDir.isAbsolute()) {
            // CRIU opens parent_img relative to the images dir
            o.prevImagesDir = images.resolve(o.prevImagesDir);
        }

        Path logFile;
        if (req.hasLogFile() && cfgLog == null) {
            if (req.getLogFile().contains("/")) throw refuse("No subdirs are allowed in log_file name: " + req.getLogFile());
            logFile = work.resolve(req.getLogFile());
        } else if (req.getLogToStderr() && cfgLog == null) {
            logFile = null;
        } else {
            logFile = work.resolve(o.logFile != null ? o.logFile : DEFAULT_LOG);
        }
        o.logFile = logFile == null ? null : logFile.toString();
        o.logLevel = req.getLogLevel();
        return new LogSetup(logFile, req.getLogLevel());
    }

    /** One field present in the request. */
    private void field(FieldDescriptor f, Object v) {
        String n = f.getName();
        // A scalar equal to CRIU's default asks for nothing (runc sends every boolean explicitly).
        if (!f.isRepeated() && f.getJavaType() != FieldDescriptor.JavaType.MESSAGE && v.equals(f.getDefaultValue())) {
            return;
        }
        switch (n) {
            // Handled around the options themselves (see apply()).
            case "images_dir_fd", "images_dir", "work_dir_fd", "log_level", "log_file", "log_to_stderr", "config_file" -> { }
            case "notify_scripts" -> notifyScripts = true;
            case "pid" -> {
                if (o.command.equals("dump") || o.command.equals("pre-dump")) opt(n, "tree", String.valueOf(req.getPid()));
            }
            case "leave_running" -> flag(n, "leave-running");
            case "leave_stopped" -> flag(n, "leave-stopped");
            case "ext_unix_sk" -> {
                StringBuilder ids = new StringBuilder();
                for (var u : req.getUnixSkInoList()) ids.append(ids.isEmpty() ? "" : ",").append(Integer.toUnsignedString(u.getInode()));
                word(n, "ext-unix-sk", ids.isEmpty() ? "--ext-unix-sk" : "--ext-unix-sk=" + ids);
            }
            case "unix_sk_ino" -> {
                if (!req.getExtUnixSk()) LOG.debug("unix_sk_ino without ext_unix_sk ignored, as CRIU");
            }
            case "tcp_established" -> flag(n, "tcp-established");
            case "tcp_skip_in_flight" -> flag(n, "skip-in-flight");
            case "tcp_close" -> flag(n, "tcp-close");
            case "weak_sysctls" -> flag(n, "weak-sysctls");
            case "evasive_devices" -> flag(n, "evasive-devices");
            case "shell_job" -> flag(n, "shell-job");
            case "skip_file_rwx_check" -> flag(n, "skip-file-rwx-check");
            case "file_locks" -> flag(n, "file-locks");
            case "track_mem" -> flag(n, "track-mem");
            case "link_remap" -> flag(n, "link-remap");
            case "auto_dedup" -> flag(n, "auto-dedup");
            case "force_irmap" -> flag(n, "force-irmap");
            case "lazy_pages" -> flag(n, "lazy-pages");
            case "display_stats" -> flag(n, "display-stats");
            case "mntns_compat_mode" -> flag(n, "mntns-compat-mode");
            case "unprivileged" -> flag(n, "unprivileged");
            case "ext_sharing" -> flag(n, "enable-external-sharing");
            case "ext_masters" -> flag(n, "enable-external-masters");
            case "auto_ext_mnt" -> opt(n, "ext-mount-map", "auto");
            case "tls" -> flag(n, "tls");
            case "tls_no_cn_verify" -> flag(n, "tls-no-cn-verify");
            case "root" -> opt(n, "root", req.getRoot());
            case "parent_img" -> opt(n, "prev-images-dir", req.getParentImg());
            case "freeze_cgroup" -> opt(n, "freeze-cgroup", req.getFreezeCgroup());
            case "lsm_profile" -> opt(n, "lsm-profile", req.getLsmProfile());
            case "lsm_mount_context" -> opt(n, "lsm-mount-context", req.getLsmMountContext());
            case "cgroup_props" -> opt(n, "cgroup-props", req.getCgroupProps());
            case "cgroup_props_file" -> opt(n, "cgroup-props-file", req.getCgroupPropsFile());
            case "cgroup_yard" -> opt(n, "cgroup-yard", req.getCgroupYard());
            case "tls_cacert" -> opt(n, "tls-cacert", req.getTlsCacert());
            case "tls_cacrl" -> opt(n, "tls-cacrl", req.getTlsCacrl());
            case "tls_cert" -> opt(n, "tls-cert", req.getTlsCert());
            case "tls_key" -> opt(n, "tls-key", req.getTlsKey());
            case "timeout" -> opt(n, "timeout", Integer.toUnsignedString(req.getTimeout()));
            case "ghost_limit" -> opt(n, "ghost-limit", Integer.toUnsignedString(req.getGhostLimit()));
            case "cpu_cap" -> {
                // A bit mask here, a name list on the command line: checked as --cpu-cap, the bits
                // set once the words are parsed (parsing --cpu-cap alone would add "all").
                word(n, "cpu-cap", "--cpu-cap");
            }
            case "manage_cgroups" -> {
                if (!req.hasManageCgroupsMode()) opt(n, "manage-cgroups", req.getManageCgroups() ? "soft" : "ignore", true);
            }
            case "manage_cgroups_mode" -> opt(n, "manage-cgroups", switch (req.getManageCgroupsMode()) {
                case IGNORE -> "ignore";
                case CG_NONE -> "none";
                case PROPS -> "props";
                case SOFT, DEFAULT -> "soft";
                case FULL -> "full";
                case STRICT -> "strict";
            }, true);
            case "pre_dump_mode" -> opt(n, "pre-dump-mode", switch (req.getPreDumpMode()) {
                case SPLICE -> "splice";
                case VM_READ -> "read";
            });
            case "network_lock" -> opt(n, "network-lock", switch (req.getNetworkLock()) {
                case IPTABLES -> "iptables";
                case NFTABLES -> "nftables";
                case SKIP -> "skip";
            });
            case "empty_ns" -> {
                if ((req.getEmptyNs() & ~Options.CLONE_NEWNET) != 0) {
                    throw refuse(String.format("empty_ns 0x%x: only CLONE_NEWNET may be left empty", req.getEmptyNs()));
                }
                opt(n, "empty-ns", "net");
            }
            case "ps" -> {
                var ps = req.getPs();
                if (ps.hasFd() && !swrk) throw refuse("ps.fd is not allowed in standalone service");
                if (req.getLazyPages()) {
                    if (ps.hasPort()) opt(n, "port", String.valueOf(ps.getPort()));
                } else {
                    word(n, "page-server", "--page-server");
                    if (ps.hasAddress()) opt(n, "address", ps.getAddress());
                    if (ps.hasPort()) opt(n, "port", String.valueOf(ps.getPort()));
                    if (ps.hasFd()) opt(n, "ps-socket", String.valueOf(ps.getFd()));
                }
            }
            case "rst_sibling" -> {
                if (!swrk) throw refuse("rst_sibling is not allowed in standalone service");
                flag(n, "restore-sibling");
            }
            case "inherit_fd" -> {
                if (!swrk) throw refuse("inherit_fd is not allowed in standalone service");
                // the fd is a number in our own fd table: the caller passed it to us at exec
                for (var i : req.getInheritFdList()) opt(n, "inherit-fd", "fd[" + i.getFd() + "]:" + i.getKey());
            }
            case "veths" -> {
                for (var p : req.getVethsList()) opt(n, "veth-pair", p.getIfIn() + "=" + p.getIfOut());
            }
            case "ext_mnt" -> {
                for (var m : req.getExtMntList()) opt(n, "ext-mount-map", m.getKey() + ":" + m.getVal());
            }
            case "join_ns" -> {
                for (var j : req.getJoinNsList()) {
                    opt(n, "join-ns", j.getNs() + ":" + j.getNsFile() + (j.hasExtraOpt() ? "," + j.getExtraOpt() : ""));
                }
            }
            case "cg_root" -> {
                for (var c : req.getCgRootList()) opt(n, "cgroup-root", (c.hasCtrl() ? c.getCtrl() + ":" : "") + c.getPath());
            }
            case "external" -> req.getExternalList().forEach(x -> opt(n, "external", x));
            case "skip_mnt" -> req.getSkipMntList().forEach(x -> opt(n, "skip-mnt", x));
            case "enable_fs" -> req.getEnableFsList().forEach(x -> opt(n, "enable-fs", x));
            case "irmap_scan_paths" -> req.getIrmapScanPathsList().forEach(x -> opt(n, "irmap-scan-path", x));
            case "cgroup_dump_controller" -> req.getCgroupDumpControllerList().forEach(x -> opt(n, "cgroup-dump-controller", x));
            case "exec_cmd" -> {
                // run by the RPC worker itself after the restore, as cr-service.c does
                o.execCmd.clear();
                o.execCmd.addAll(req.getExecCmdList());
            }
            case "status_fd" -> {
                LOG.warn("status_fd is obsoleted; use status-ready notification instead");
                String p = peer.fdPath(req.getStatusFd());
                try {
                    o.statusFd = Sys.open(p, Linux.O_WRONLY, 0);
                } catch (CriuException e) {
                    throw refuse("Can't reopen status_fd " + req.getStatusFd() + " (" + p + "): " + e.getMessage());
                }
            }
            // RPC-only options, each meaningful for one kind of request only (as criu reads them)
            // As criu: the dump accepts a pty slave whose master is outside the tree; the restore
            // makes a new master for it and hands it to the client (orphan-pts-master). No CLI option.
            case "orphan_pts_master" -> o.orphanPtsMaster = true;
            case "pidfd_store_sk" -> {
                if (o.command.equals("dump") || o.command.equals("pre-dump")) {
                    throw refuse("RPC option pidfd_store_sk is not supported by jcriu yet for " + o.command);
                }
            }
            default -> throw refuse("RPC option " + n + " is not known to jcriu");
        }
    }

    private void flag(String field, String option) {
        word(field, option, "--" + option);
    }

    private void opt(String field, String option, String value) {
        opt(field, option, value, false);
    }

    /** {@code attached}: the option's argument is optional and must be given as --x=value. */
    private void opt(String field, String option, String value, boolean attached) {
        if (attached) {
            word(field, option, "--" + option + "=" + value);
        } else {
            word(field, option, "--" + option);
            words.add(value);
        }
    }

    private void word(String field, String option, String w) {
        fieldOf.putIfAbsent(option, field);
        words.add(w);
    }
}

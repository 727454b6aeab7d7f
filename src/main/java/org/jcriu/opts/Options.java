package org.jcriu.opts;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a dump, restore or other command was asked to do, filled by the command-line
 * parser, config files or an RPC request (CRIU's {@code struct cr_options}), then handed to the
 * operation inside its context. Never a global: each operation owns its instance.
 *
 * <p>Field names follow the long option names. Defaults are CRIU 4.2's ({@code init_opts}).
 * Paths: after the command line has been processed, {@link #imagesDir} and {@link #workDir}
 * are absolute, {@link #logFile} and {@link #pidfile} are resolved against the work dir (CRIU
 * chdirs into it; a JVM cannot, so everything relative is resolved up front). List-valued
 * options keep the user's raw strings in order; their syntax was checked by the parser.
 */
public final class Options {
    /** -v levels, as CRIU's log.h. */
    public static final int LOG_MSG = 0, LOG_ERROR = 1, LOG_WARN = 2, LOG_INFO = 3, LOG_DEBUG = 4;
    /** --cpu-cap bits (CRIU's CPU_CAP_*). */
    public static final int CPU_CAP_NONE = 0, CPU_CAP_FPU = 1, CPU_CAP_CPU = 1 << 1, CPU_CAP_INS = 1 << 2,
            CPU_CAP_IMAGE = 1 << 3, CPU_CAP_ALL = CPU_CAP_FPU | CPU_CAP_CPU | CPU_CAP_INS,
            CPU_CAP_DEFAULT = CPU_CAP_FPU | CPU_CAP_INS;
    /** --empty-ns accepts only net, as CRIU (CLONE_NEWNET). */
    public static final int CLONE_NEWNET = 0x40000000;

    public String command;                // dump, pre-dump, restore, check, cpuinfo-dump, cpuinfo-check, ...
    public int pid;                       // -t/--tree
    public Path imagesDir;                // -D/--images-dir (default ".")
    public Path workDir;                  // -W/--work-dir (defaults to imagesDir)
    public Path root;                     // -r/--root
    public boolean leaveRunning;          // -R/--leave-running (final state alive)
    public boolean leaveStopped;          // -s/--leave-stopped (final state stopped)
    public boolean shellJob;              // -j/--shell-job
    public boolean restoreDetached;       // -d/--restore-detached, also --daemon (CRIU's daemon_mode is the same flag)
    public boolean restoreSibling;        // -S/--restore-sibling
    public int timeout = 10;              // --timeout seconds
    public Path pidfile;                  // --pidfile (resolved against workDir)
    public boolean displayStats;          // --display-stats
    public int logLevel = LOG_WARN;       // -v
    public String logFile;                // -o/--log-file: "-" = stdout, null = stderr; resolved against workDir otherwise
    public boolean logPid;                // --log-pid
    public boolean fileLocks;             // -l/--file-locks
    public boolean tcpEstablished;        // --tcp-established
    public boolean extUnixSk;             // -x/--ext-unix-sk
    public boolean linkRemap;             // --link-remap
    public boolean evasiveDevices;        // --evasive-devices
    public boolean skipFileRwxCheck;      // --skip-file-rwx-check
    public long ghostLimit = 1 << 20;     // --ghost-limit bytes
    public final List<String> external = new ArrayList<>();   // --external type[id]:value
    public final List<String> inheritFd = new ArrayList<>();  // --inherit-fd fd[N]:resource
    public final List<String> execCmd = new ArrayList<>();    // restore --exec-cmd -- argv...

    // Common
    public final List<Integer> close = new ArrayList<>();     // --close fd
    public Path config;                   // --config FILE
    public boolean noDefaultConfig;       // --no-default-config
    public boolean stream;                // --stream
    public Path prevImagesDir;            // --prev-images-dir (relative to imagesDir, as CRIU's parent link)
    public String libdir;                 // -L/--libdir
    public final List<String> enableFs = new ArrayList<>();   // --enable-fs (comma lists split)
    public final List<String> actionScript = new ArrayList<>(); // --action-script
    public boolean unprivileged;          // --unprivileged
    public boolean deprecated;            // --deprecated (or CRIU_DEPRECATED in the environment)

    // Dump / pre-dump
    public boolean trackMem;              // --track-mem
    public String preDumpMode = "splice"; // --pre-dump-mode splice|read
    public boolean freezeCgroupSet;       // true when --freeze-cgroup was given
    public String freezeCgroup;           // --freeze-cgroup path
    public String manageCgroups = "soft"; // --manage-cgroups [none|props|soft|full|strict|ignore]; meaningful only if manageCgroupsSet
    public boolean manageCgroupsSet;      // --manage-cgroups given
    public final List<String> cgroupRoot = new ArrayList<>(); // --cgroup-root [controller:]/newroot
    public String cgroupProps;            // --cgroup-props
    public String cgroupPropsFile;        // --cgroup-props-file
    public final List<String> cgroupDumpController = new ArrayList<>(); // --cgroup-dump-controller
    public String cgroupYard;             // --cgroup-yard
    public boolean tcpClose;              // --tcp-close
    public boolean skipInFlight;          // --skip-in-flight
    public boolean pageServer;            // --page-server
    public boolean forceIrmap;            // --force-irmap
    public final List<String> irmapScanPath = new ArrayList<>(); // --irmap-scan-path
    public boolean autoDedup;             // --auto-dedup
    public boolean ghostFiemap = true;    // --ghost-fiemap (on by default)
    public int cpuCap = CPU_CAP_DEFAULT;  // --cpu-cap bits
    public boolean lazyPages;             // --lazy-pages
    public String fileValidation = "buildid"; // --file-validation filesize|buildid
    public String networkLock = "iptables";   // --network-lock iptables|nftables|skip
    public boolean networkLockSet;        // --network-lock given (ignored on restore, as CRIU)
    public final List<String> extUnixSkIds = new ArrayList<>(); // -x/--ext-unix-sk=ino,...
    public final List<String> extMountMap = new ArrayList<>();  // -M/--ext-mount-map KEY:VAL
    public boolean autoExtMnt;            // -M auto / --ext-mount-map auto
    public boolean enableExternalSharing; // --enable-external-sharing
    public boolean enableExternalMasters; // --enable-external-masters
    public final List<String> skipMnt = new ArrayList<>();      // --skip-mnt
    public int emptyNs;                   // --empty-ns net -> CLONE_NEWNET
    public boolean allowUprobes;          // --allow-uprobes

    // Restore
    public final List<String> joinNs = new ArrayList<>();    // -J/--join-ns NS:{PID|FILE}[,EXTRA]
    public final List<String> vethPair = new ArrayList<>();  // --veth-pair IN=OUT
    public String lsmProfile;             // --lsm-profile type:name
    public String lsmMountContext;        // --lsm-mount-context
    public boolean weakSysctls;           // --weak-sysctls
    public boolean mntnsCompatMode;       // --mntns-compat-mode
    public boolean execCmdSet;            // --exec-cmd given
    public boolean orphanPtsMaster;       // RPC orphan_pts_master (criu has no command-line option for it)

    // Page server / lazy pages / service
    public String address;                // --address
    public int port;                      // --port
    public int psSocket = -1;             // --ps-socket fd
    public int statusFd = -1;             // --status-fd fd
    public String tlsCacert, tlsCacrl, tlsCert, tlsKey; // --tls-*
    public boolean tls;                   // --tls
    public boolean tlsNoCnVerify;         // --tls-no-cn-verify
    public int swrkFd = -1;               // swrk <fd>

    // Check
    public boolean extra;                 // --extra
    public boolean experimental;          // --experimental (--all sets both)
    public String feature;                // --feature NAME

    /** Set by the RPC worker when the client asked for notify_scripts; see org.jcriu.action.Actions. */
    public ActionHook notifier;

    /**
     * RPC dumps: the inode of jcriu's end of the client's socket (CRIU's service_sk_ino). A dumped
     * socket whose peer it is is the client's end, dumped as USK_SERVICE; 0 outside RPC.
     */
    public int serviceSkIno;
}

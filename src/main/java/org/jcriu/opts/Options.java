package org.jcriu.opts;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a dump, restore or other command was asked to do, filled by the command-line
 * parser, config files or an RPC request (CRIU's {@code struct cr_options}), then handed to the
 * operation inside its context. Never a global: each operation owns its instance.
 *
 * <p>Fields are added here as options are implemented; the cli work owns the full set. Field
 * names follow the long option names.
 */
public final class Options {
    public String command;
    public int pid;                       // -t/--tree
    public Path imagesDir;                // -D/--images-dir
    public Path workDir;                  // -W/--work-dir (defaults to imagesDir)
    public Path root;                     // -r/--root
    public boolean leaveRunning;          // -R
    public boolean leaveStopped;          // -s
    public boolean shellJob;              // -j
    public boolean restoreDetached;       // -d
    public boolean restoreSibling;        // -S
    public int timeout = 10;              // --timeout seconds
    public Path pidfile;                  // --pidfile
    public boolean displayStats;          // --display-stats
    public int logLevel = 2;              // -v
    public String logFile;                // -o
    public boolean logPid;                // --log-pid
    public boolean fileLocks;             // -l
    public boolean tcpEstablished;
    public boolean extUnixSk;
    public boolean linkRemap;
    public boolean evasiveDevices;
    public boolean skipFileRwxCheck;
    public long ghostLimit = 1 << 20;
    public final List<String> external = new ArrayList<>();
    public final List<String> inheritFd = new ArrayList<>();
    public final List<String> execCmd = new ArrayList<>();
    public final List<String> actionScript = new ArrayList<>(); // --action-script
    /** Set by the RPC worker when the client asked for notify_scripts; see org.jcriu.action.Actions. */
    public ActionHook notifier;
}

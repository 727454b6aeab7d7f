package org.jcriu.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.jcriu.CriuException;
import org.jcriu.dump.Dumper;
import org.jcriu.kerndat.Check;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.restore.Restorer;
import org.jcriu.service.Service;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Sys;

/**
 * The criu(8) command line. Exit status: 0 on success, 1 on any error (one line on stderr,
 * "Error: ..."), or what the operation returns (restore without -d: the root task's status).
 */
public final class Main {
    private static final Logger LOG = Log.get("");
    private static final Set<String> COMMANDS = Set.of("dump", "pre-dump", "restore", "lazy-pages", "check",
            "page-server", "service", "swrk", "dedup", "exec", "show", "cpuinfo");

    private Main() {}

    public static void main(String[] args) {
        // The first native call links glibc's syscall downcall: 20-30 ms of linker code, run cold.
        // Every command but --help/--version makes one within milliseconds: link it on another
        // CPU meanwhile (option parsing, config files, opening the log go on here).
        List<String> a = List.of(args);
        if (!a.contains("--help") && !a.contains("-h") && !a.contains("--version") && !a.contains("-V")) {
            Thread.ofPlatform().daemon().name("jcriu-link").start(Main::link);
        }
        int rc = run(args, CommandLine.Env.system());
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(rc);
    }

    private static void link() {
        try {
            Sys.getpid();
        } catch (RuntimeException | Error e) {
            // only a warm-up: the first real call reports what is wrong
        }
    }

    /** The whole command: parse, set up logging, run; never throws. */
    static int run(String[] args, CommandLine.Env env) {
        String prog = System.getProperty("jcriu.prog", "jcriu");
        PrintStream err = System.err;
        try {
            CommandLine.Parsed p = CommandLine.parse(args, env);
            if (p.help()) {
                System.out.print(Usage.text(prog));
                return 0;
            }
            if (p.version()) {
                System.out.print(Version.text());
                return 0;
            }
            Options o = p.options();
            prepare(o, p.operands());
            if (o.command.equals("swrk")) return Service.run(o);
            checkCaps(o);
            openLog(o);
            closeFds(o);
            logStart(p);
            checkImplemented(o, p.seen().requested);
            return dispatch(o);
        } catch (UsageException e) {
            err.println("Error: " + e.getMessage() + " (try '" + prog + " --help')");
            return 1;
        } catch (CriuException e) {
            report(e, err, false);
            // criu dump exits 255 when a post-dump script fails
            return e instanceof org.jcriu.action.ScriptFailed f ? f.exitCode() : 1;
        } catch (RuntimeException | Error e) {
            report(e, err, true);
            return 1;
        } finally {
            Log.flush();
        }
    }

    /** Command and operands, defaults, paths resolved; the checks CRIU makes before any work. */
    static void prepare(Options o, List<String> operands) {
        if (operands.isEmpty()) throw new UsageException("command is required");
        String cmd = operands.getFirst();
        if (!COMMANDS.contains(cmd)) throw new UsageException("unknown command: " + cmd);
        int used = 1;
        switch (cmd) {
            case "cpuinfo" -> {
                if (operands.size() < 2) throw new UsageException("cpuinfo requires an action: dump or check");
                String sub = operands.get(1);
                if (!sub.equals("dump") && !sub.equals("check")) {
                    throw new UsageException("unknown cpuinfo sub-command: " + sub);
                }
                cmd = "cpuinfo-" + sub;
                used = 2;
            }
            case "swrk" -> {
                if (operands.size() != 2) throw new UsageException("swrk needs exactly one argument: the socket fd");
                o.swrkFd = Values.nonNegativeInt("swrk", operands.get(1));
                used = 2;
            }
            case "exec" -> throw new CriuException("The \"exec\" action is deprecated by the Compel library.");
            case "show" -> throw new CriuException("The \"show\" action is deprecated by the CRIT utility; "
                    + "to view an image use \"jcrit decode -i $name --pretty\"");
            default -> { }
        }
        o.command = cmd;
        List<String> rest = operands.subList(used, operands.size());
        if (o.execCmdSet) {
            if (rest.isEmpty()) throw new UsageException("--exec-cmd requires a command");
            if (!cmd.equals("restore")) throw new UsageException("--exec-cmd is available for the restore command only");
            if (o.restoreDetached) throw new UsageException("--restore-detached and --exec-cmd cannot be used together");
            o.execCmd.addAll(rest);
        } else if (!rest.isEmpty()) {
            throw new UsageException("excessive parameter" + (rest.size() > 1 ? "s" : "") + " for command "
                    + operands.getFirst() + ": " + String.join(" ", rest));
        }
        if ((cmd.equals("dump") || cmd.equals("pre-dump")) && o.pid == 0) throw new UsageException("pid not specified: use -t PID");
        if (cmd.equals("pre-dump") && o.lazyPages) throw new UsageException("Cannot pre-dump with --lazy-pages");
        if (!o.inheritFd.isEmpty() && !cmd.equals("restore")) throw new UsageException("--inherit-fd is restore-only option");
        if (cmd.equals("restore") && o.restoreSibling && !o.restoreDetached) {
            throw new UsageException("--restore-sibling only makes sense with --restore-detached");
        }
        if (System.getenv("CRIU_DEPRECATED") != null) o.deprecated = true;

        if (cmd.equals("swrk")) return;
        Path cwd = Path.of("").toAbsolutePath();
        o.imagesDir = cwd.resolve(o.imagesDir == null ? Path.of(".") : o.imagesDir).normalize();
        o.workDir = o.workDir == null ? o.imagesDir : cwd.resolve(o.workDir).normalize();
        if (!cmd.equals("service") && !Files.isDirectory(o.imagesDir)) {
            throw new CriuException("Couldn't open image dir " + o.imagesDir + ": "
                    + (Files.exists(o.imagesDir) ? "Not a directory" : "No such file or directory"));
        }
        if (!Files.isDirectory(o.workDir)) {
            throw new CriuException("Can't change directory to " + o.workDir + ": "
                    + (Files.exists(o.workDir) ? "Not a directory" : "No such file or directory"));
        }
        if (o.pidfile != null) o.pidfile = o.workDir.resolve(o.pidfile);
        if (o.logFile != null && !o.logFile.equals("-")) o.logFile = o.workDir.resolve(o.logFile).toString();
    }

    /**
     * --close FD, before anything else as CRIU does (it closes while parsing). Refuses the JVM's
     * own descriptors (the jar, the JDK's modules, the AOT cache): closing those would crash us.
     */
    static void closeFds(Options o) {
        String javaHome = System.getProperty("java.home");
        for (int fd : o.close) {
            String target;
            try {
                target = Sys.readlink("/proc/self/fd/" + fd);
            } catch (ErrnoException e) {
                LOG.debug("--close %d: not open", fd);
                continue;
            }
            if (fd <= 2) {
                // stdio inherited from the caller: closing them is the caller's business, as in criu
            } else if (target.startsWith(javaHome) || target.endsWith(".jar") || target.endsWith(".aot")
                    || target.endsWith(".jsa")) {
                throw new CriuException("--close " + fd + ": fd " + fd + " is the JVM's own (" + target + ")");
            }
            LOG.info("Closing fd %d (%s)", fd, target);
            Sys.close(fd);
        }
    }

    private static void openLog(Options o) {
        if (o.logFile == null) Log.configure(o.logLevel, System.err);
        else if (o.logFile.equals("-")) Log.configure(o.logLevel, System.out);
        else Log.toFile(Path.of(o.logFile), o.logLevel);
        Log.perPidFiles(o.logPid);
    }

    private static void logStart(CommandLine.Parsed p) {
        LOG.info("Version: %s (gitid %s)", Version.CRIU, Version.gitId());
        if (LOG.infoEnabled()) LOG.info("Running on %s", Uname.line());
        for (String c : p.configsRead()) LOG.info("Parsed config file %s", c);
        Options o = p.options();
        if (o.command.equals("restore") && o.pid != 0) LOG.warn("Using -t with criu restore is obsoleted");
        if (o.command.equals("restore") && o.networkLockSet) LOG.warn("--network-lock will be ignored in restore command");
        if (o.command.equals("restore") && o.restoreDetached && o.leaveStopped && o.shellJob) {
            LOG.warn("Stopped and detached shell job will get SIGHUP from OS.");
        }
    }

    /** Fails naming the first command or option that is accepted but not implemented. */
    static void checkImplemented(Options o, Set<String> requested) {
        if (!Implemented.command(o.command)) {
            String shown = o.command.startsWith("cpuinfo-") ? "cpuinfo " + o.command.substring(8) : o.command;
            throw new CriuException("command '" + shown + "' is not implemented yet");
        }
        for (String name : requested) {
            String base = name.startsWith("no-") ? name.substring(3) : name;
            OptionDef d = OptionTable.byName().get(base);
            if (d == null || !d.scope().contains(o.command)) continue;
            if (!Implemented.option(o.command, name)) {
                throw new CriuException("option --" + name + " is not implemented yet for '" + o.command + "'");
            }
        }
    }

    private static int dispatch(Options o) {
        return switch (o.command) {
            case "check" -> Check.run(o, Implemented::command);
            case "dump", "pre-dump" -> Dumper.run(o);
            case "restore" -> Restorer.run(o);
            case "service" -> Service.run(o);
            default -> {
                String ep = Dispatch.entryPoint(o.command);
                if (ep == null) throw new CriuException("command '" + o.command + "' has no entry point");
                yield Dispatch.run(ep, o);
            }
        };
    }

    /**
     * CRIU's check_caps: root, or CAP_SYS_ADMIN / CAP_CHECKPOINT_RESTORE in the effective set,
     * and a non-root user must say --unprivileged (which jcriu does not implement yet, so the
     * option table then names it).
     */
    static void checkCaps(Options o) {
        String status;
        try {
            status = Files.readString(Path.of("/proc/self/status"));
        } catch (java.io.IOException e) {
            throw new CriuException("can't read /proc/self/status: " + e.getMessage(), e);
        }
        long capEff = 0;
        int euid = 0;
        for (String line : status.split("\n")) {
            if (line.startsWith("CapEff:")) capEff = Long.parseUnsignedLong(line.substring(7).strip(), 16);
            else if (line.startsWith("Uid:")) euid = Integer.parseInt(line.substring(4).strip().split("\\s+")[1]);
        }
        final long capSysAdmin = 1L << 21, capCheckpointRestore = 1L << 40;
        if ((capEff & (capSysAdmin | capCheckpointRestore)) == 0) {
            throw new CriuException("jcriu needs root, CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE (effective capabilities: 0x"
                    + Long.toHexString(capEff) + ")");
        }
        if (euid != 0 && !o.unprivileged) {
            throw new CriuException("Running as non-root requires '--unprivileged'");
        }
    }

    /**
     * One line "Error: message" on stderr; in a log file the CRIU-style line with the throw site,
     * and the stack trace at -v4 (always for an unexpected exception, which is a jcriu bug).
     */
    private static void report(Throwable e, PrintStream err, boolean bug) {
        String msg = bug ? "internal error: " + e : e.getMessage();
        StackTraceElement[] st = e.getStackTrace();
        if (Log.file() != null) {
            Log.errorAt(st.length > 0 ? st[0] : null, msg);
            Log.stackTrace(e, bug);
        } else if (Log.level() >= Log.LOG_DEBUG || bug) {
            e.printStackTrace(err);
        }
        if (Log.level() > Log.LOG_MSG || bug) err.println("Error: " + msg);
    }
}

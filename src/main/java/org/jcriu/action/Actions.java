package org.jcriu.action;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Action;
import org.jcriu.opts.Options;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;
import org.jcriu.sys.WaitStatus;

/**
 * Runs what is attached to an {@link Action}: first the RPC client's notification (when it asked
 * for notify_scripts), then every {@code --action-script}, as CRIU's run_scripts() does. Dump and
 * restore call {@link #run(Options, Action, int)} at each point; a refusal or a failing script
 * throws, and the operation must abort and clean up as for any other error.
 *
 * <p>Scripts get CRIU's environment: {@code CRTOOLS_SCRIPT_ACTION}, {@code CRTOOLS_IMAGE_DIR}
 * and, once the root task's pid is known, {@code CRTOOLS_INIT_PID}; stdin is /dev/null and
 * stdout/stderr go to the log file (to our stderr when there is none). As CRIU,
 * {@code CRTOOLS_IMAGE_DIR} is {@code /proc/<jcriu's pid>/fd/<N>}, an fd of the images directory
 * that jcriu holds while the scripts run: the directory the dump writes to even when its path
 * means something else to the script (another mount namespace, a staging directory).
 */
public final class Actions {
    private static final Logger LOG = Log.get("");

    private Actions() {}

    public static void run(Options o, Action action) {
        run(o, action, 0);
    }

    /** {@code rootPid}: the real pid of the root task, 0 before it exists (pre-restore). */
    public static void run(Options o, Action action, int rootPid) {
        LOG.debug("Running %s scripts", action.scriptName());
        if (o.notifier != null) o.notifier.notify(action, rootPid, -1);
        // query-ext-files is a question for the RPC client only (its answer adds --external)
        if (action != Action.QUERY_EXT_FILES) runScripts(o, action, rootPid);
    }

    /**
     * Hands {@code fd} to the RPC client with the notification (orphan-pts-master). Returns false
     * when there is no RPC client to take it; scripts are not run for this action, as in CRIU.
     */
    public static boolean sendFd(Options o, Action action, int fd) {
        return o.notifier != null && o.notifier.notify(action, 0, fd);
    }

    private static void runScripts(Options o, Action action, int rootPid) {
        if (o.actionScript.isEmpty()) return;
        List<String> env = new ArrayList<>();
        for (Map.Entry<String, String> e : System.getenv().entrySet()) {
            if (!e.getKey().startsWith("CRTOOLS_")) env.add(e.getKey() + "=" + e.getValue());
        }
        env.add("CRTOOLS_SCRIPT_ACTION=" + action.scriptName());
        if (rootPid > 0) env.add("CRTOOLS_INIT_PID=" + rootPid);
        int dirFd = -1;
        if (o.imagesDir != null) {
            try {
                dirFd = Sys.open(o.imagesDir.toString(), Linux.O_RDONLY | Linux.O_DIRECTORY | Linux.O_CLOEXEC, 0);
                env.add("CRTOOLS_IMAGE_DIR=/proc/" + Sys.getpid() + "/fd/" + dirFd);
            } catch (CriuException e) {
                LOG.warn("Can't open the images directory %s for the scripts: %s", o.imagesDir, e.getMessage());
                env.add("CRTOOLS_IMAGE_DIR=" + o.imagesDir);
            }
        }

        // CRIU keeps scripts on a list it pushes to the front of: the last one given runs first.
        StringBuilder failed = new StringBuilder();
        try {
            for (String script : o.actionScript.reversed()) {
                LOG.debug("\t[%s]", script);
                int rc = runOne(o, script, env);
                if (rc != 0) {
                    LOG.error("Script %s exited with %d", script, rc);
                    if (!failed.isEmpty()) failed.append(", ");
                    failed.append(script).append(" (status ").append(rc).append(')');
                }
            }
        } finally {
            if (dirFd >= 0) Sys.close(dirFd);
        }
        if (!failed.isEmpty()) {
            throw new ScriptFailed("action script for " + action.scriptName() + " failed: " + failed,
                    action == Action.POST_DUMP ? 255 : 1);
        }
    }

    private static int runOne(Options o, String script, List<String> env) {
        String path = resolve(script);
        int devNull = Sys.open("/dev/null", Linux.O_RDONLY, 0);
        int logFd = -1;
        try {
            if (o.logFile != null && !o.logFile.equals("-")) {
                Path log = o.workDir != null ? o.workDir.resolve(o.logFile) : Path.of(o.logFile);
                logFd = Sys.open(log.toString(), Linux.O_WRONLY | Linux.O_APPEND, 0);
            }
            int pid = Sys.posixSpawn(path, List.of(script), env, new int[] {devNull, logFd, logFd}, false);
            WaitStatus st = Sys.waitpid(pid, 0);
            return st.exited() ? st.exitCode() : st.shellStatus();
        } catch (CriuException e) {
            throw new CriuException("Can't run action script " + script + ": " + e.getMessage(), e);
        } finally {
            Sys.close(devNull);
            if (logFd >= 0) Sys.close(logFd);
        }
    }

    /** execvp()'s lookup: a name without a slash is searched in PATH. */
    private static String resolve(String script) {
        if (script.contains("/")) return script;
        String path = System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, script);
            if (Files.isExecutable(p)) return p.toString();
        }
        return script;
    }
}

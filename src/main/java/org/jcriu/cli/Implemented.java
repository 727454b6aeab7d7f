package org.jcriu.cli;

import java.util.Map;
import java.util.Set;

/**
 * THE table of what jcriu does so far. A command missing here fails with "command 'x' is not
 * implemented yet"; an option given for a command in its scope ({@link OptionTable}) but not
 * listed for that command fails with "option --x is not implemented yet for 'cmd'". Options
 * with an empty scope (-v, -o, -D, -W, --config, ...) are handled by the command line itself.
 *
 * <p>Dump and restore engineers: when your code honours an option, add its long name here
 * (one tiny commit), e.g. {@code "leave-running"} under "dump". Names are long option names
 * without dashes; for a boolean, its positive form ({@code --no-x} needs no entry).
 */
final class Implemented {
    static final Map<String, Set<String>> COMMANDS = Map.of(
            "dump", Set.of("evasive-devices", "ghost-limit", "link-remap", "force-irmap", "irmap-scan-path", "file-locks", "file-validation", "action-script", "tree", "leave-running", "leave-stopped", "shell-job", "display-stats", "timeout", "ext-unix-sk", "external",
                    "manage-cgroups", "cgroup-root", "cgroup-props", "cgroup-props-file", "cgroup-dump-controller", "cgroup-yard", "freeze-cgroup", "cpu-cap",
                    "track-mem", "prev-images-dir"),
            "pre-dump", Set.of("tree", "force-irmap", "irmap-scan-path", "track-mem", "prev-images-dir", "pre-dump-mode", "display-stats"),
            "restore", Set.of("log-pid", "display-stats", "evasive-devices", "file-locks", "link-remap", "file-validation", "skip-file-rwx-check", "action-script", "restore-detached", "restore-sibling", "daemon", "leave-stopped", "shell-job", "pidfile", "inherit-fd", "ext-unix-sk",
                    "manage-cgroups", "cgroup-root", "cgroup-yard", "cpu-cap"),
            "check", Set.of("extra", "experimental", "all", "feature"),
            "cpuinfo-dump", Set.of(),
            "cpuinfo-check", Set.of("cpu-cap"),
            "swrk", Set.of(),
            "service", Set.of("address", "restore-detached", "daemon", "pidfile", "status-fd"));

    private Implemented() {}

    static boolean command(String cmd) {
        return COMMANDS.containsKey(cmd);
    }

    static boolean option(String cmd, String option) {
        Set<String> s = COMMANDS.get(cmd);
        return s != null && s.contains(option);
    }
}

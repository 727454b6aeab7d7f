package org.jcriu.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SequencedSet;

import org.jcriu.opts.Options;

/**
 * What the RPC server (org.jcriu.service) borrows from the command line, so an RPC field means
 * exactly what its command-line option means: the same parser, the same config-file reader, the
 * same table of implemented options and the same version strings.
 */
public final class RpcSupport {
    private RpcSupport() {}

    /**
     * Applies long options with their arguments ({@code --root /x --no-shell-job}) to {@code o}
     * with the command line's own setters; returns the names that ask for something.
     */
    public static SequencedSet<String> apply(Options o, List<String> words, String origin) {
        List<ArgParser.Token> tokens = new ArrayList<>();
        for (String w : words) tokens.add(new ArgParser.Token(w, origin, false));
        ArgParser.Seen seen = new ArgParser.Seen();
        ArgParser.parse(tokens, o, seen);
        return seen.requested;
    }

    /** Applies a config file as CRIU's RPC config_file; null when it cannot be read (CRIU then ignores it). */
    public static SequencedSet<String> applyConfigFile(Options o, Path file) {
        List<ArgParser.Token> tokens = ConfigFile.read(file);
        if (tokens == null) return null;
        ArgParser.Seen seen = new ArgParser.Seen();
        ArgParser.parse(tokens, o, seen);
        return seen.requested;
    }

    public static boolean commandImplemented(String command) {
        return Implemented.command(command);
    }

    /** True when {@code option} changes what {@code command} does but jcriu does not honour it yet. */
    public static boolean notImplemented(String command, String option) {
        String base = option.startsWith("no-") ? option.substring(3) : option;
        OptionDef d = OptionTable.byName().get(base);
        if (d == null || !d.scope().contains(command)) return false;
        return !Implemented.option(command, option);
    }

    /** The CRIU release whose interfaces jcriu implements ("4.2"). */
    public static String criuVersion() {
        return Version.CRIU;
    }

    public static String jcriuVersion() {
        return Version.jcriu();
    }
}

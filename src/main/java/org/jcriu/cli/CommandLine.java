package org.jcriu.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.opts.Options;

/**
 * Builds {@link Options} from config files and argv in CRIU's order (criu/config.c
 * {@code next_config}): /etc/criu/default.conf, $HOME/.criu/default.conf, $CRIU_CONFIG_FILE,
 * {@code --config FILE}, then argv; later sources override earlier ones. As in CRIU,
 * {@code --config} and {@code --no-default-config} skip the two default files, while
 * $CRIU_CONFIG_FILE is still read. Unlike CRIU, a file named by {@code --config} or
 * $CRIU_CONFIG_FILE that cannot be read is an error rather than silently skipped.
 */
final class CommandLine {
    /** Where the default config files are; tests point these elsewhere. */
    record Env(Path globalConfig, String home, String configFileEnv) {
        static Env system() {
            return new Env(Path.of("/etc/criu/default.conf"), System.getenv("HOME"), System.getenv("CRIU_CONFIG_FILE"));
        }
    }

    /** The outcome: options, operands (command first), and what the user asked for. */
    record Parsed(Options options, List<String> operands, ArgParser.Seen seen, List<String> configsRead) {
        boolean help() {
            return seen.help;
        }

        boolean version() {
            return seen.version;
        }
    }

    private CommandLine() {}

    static Parsed parse(String[] args, Env env) {
        List<ArgParser.Token> argv = new ArrayList<>();
        for (String a : args) argv.add(new ArgParser.Token(a, "command line", false));

        // Pre-parse like CRIU: --help wins over any config error, --config/--no-default-config
        // decide which files are read at all.
        boolean noDefault = false;
        String cfg = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--")) break;
            if (a.equals("-h") || a.equals("--help")) {
                ArgParser.Seen s = new ArgParser.Seen();
                s.help = true;
                return new Parsed(new Options(), List.of(), s, List.of());
            }
            if (a.equals("--no-default-config")) noDefault = true;
            else if (a.equals("--config")) {
                if (i + 1 >= args.length) throw new UsageException("option '--config' requires an argument");
                cfg = args[++i];
                noDefault = true;
            } else if (a.startsWith("--config=")) {
                cfg = a.substring("--config=".length());
                noDefault = true;
            }
        }

        Options o = new Options();
        ArgParser.Seen seen = new ArgParser.Seen();
        List<String> read = new ArrayList<>();
        if (!noDefault) {
            apply(ConfigFile.read(env.globalConfig()), env.globalConfig(), o, seen, read);
            if (env.home() != null) {
                Path user = Path.of(env.home(), ".criu", "default.conf");
                apply(ConfigFile.read(user), user, o, seen, read);
            }
        }
        if (env.configFileEnv() != null && !env.configFileEnv().isEmpty()) {
            Path p = Path.of(env.configFileEnv());
            apply(required(p, "CRIU_CONFIG_FILE"), p, o, seen, read);
        }
        if (cfg != null) {
            Path p = Path.of(cfg);
            apply(required(p, "--config"), p, o, seen, read);
        }
        if (seen.help || seen.version) return new Parsed(o, List.of(), seen, read);
        ArgParser.parse(argv, o, seen);
        return new Parsed(o, List.copyOf(seen.operands), seen, read);
    }

    private static List<ArgParser.Token> required(Path p, String what) {
        List<ArgParser.Token> t = ConfigFile.read(p);
        if (t == null) {
            String why = Files.exists(p) ? "not readable" : "no such file";
            throw new UsageException("can't read config file " + p + " given by " + what + ": " + why);
        }
        return t;
    }

    private static void apply(List<ArgParser.Token> tokens, Path p, Options o, ArgParser.Seen seen, List<String> read) {
        if (tokens == null || seen.help || seen.version) return;
        read.add(p.toString());
        ArgParser.parse(tokens, o, seen);
    }
}

package org.jcriu.cli;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;

import org.jcriu.cli.OptionDef.Arg;
import org.jcriu.opts.Options;

/**
 * getopt_long semantics as CRIU uses them: options and operands may be mixed (operands are
 * collected in order), {@code --} ends options, {@code --name=value}, unique prefixes of long
 * names, clustered short options ({@code -dS}, {@code -t123}, {@code -vvvv}), optional
 * arguments only when attached ({@code -v4}, {@code --manage-cgroups=full}).
 */
final class ArgParser {
    /** One word of input and where it came from, for messages. */
    record Token(String text, String origin, boolean fromConfig) {}

    /** What was seen: operands, the options that ask for something, and early exits. */
    static final class Seen {
        final List<String> operands = new ArrayList<>();
        /** Long names of the options given in their positive form (a {@code --no-x} is recorded as {@code no-x} only when x defaults to on). */
        final SequencedSet<String> requested = new LinkedHashSet<>();
        boolean help;
        boolean version;
    }

    private ArgParser() {}

    /** Applies tokens to {@code o}; stops at --version as CRIU does (it prints and exits there). */
    static void parse(List<Token> tokens, Options o, Seen seen) {
        for (int i = 0; i < tokens.size(); i++) {
            Token t = tokens.get(i);
            String s = t.text();
            if (s.equals("--") && !t.fromConfig()) {
                for (int j = i + 1; j < tokens.size(); j++) seen.operands.add(tokens.get(j).text());
                return;
            }
            if (s.startsWith("--") && s.length() > 2) {
                i = longOption(tokens, i, o, seen);
            } else if (s.startsWith("-") && s.length() > 1 && !t.fromConfig()) {
                i = shortOptions(tokens, i, o, seen);
            } else {
                if (t.fromConfig()) throw new UsageException("in " + t.origin() + ": unexpected word '" + s
                        + "' (config files hold one option per line, commands are not allowed)");
                seen.operands.add(s);
            }
            if (seen.version || seen.help) return;
        }
    }

    private static int longOption(List<Token> tokens, int i, Options o, Seen seen) {
        Token t = tokens.get(i);
        String body = t.text().substring(2);
        String value = null;
        int eq = body.indexOf('=');
        if (eq >= 0) {
            value = body.substring(eq + 1);
            body = body.substring(0, eq);
        }
        Match m = lookup(body, t);
        OptionDef d = m.def;
        String shown = t.fromConfig() ? "'" + m.name + "' in " + t.origin() : "'--" + m.name + "'";
        if (t.fromConfig() && (d.name().equals("config") || d.name().equals("no-default-config"))) {
            throw new UsageException("in " + t.origin() + ": '" + d.name() + "' is only allowed on the command line");
        }
        switch (d.arg()) {
            case NONE -> {
                if (value != null) throw new UsageException("option " + shown + " doesn't allow an argument");
            }
            case REQUIRED -> {
                if (value == null) {
                    if (i + 1 >= tokens.size() || (tokens.get(i + 1).fromConfig() != t.fromConfig())
                            || (t.fromConfig() && !tokens.get(i + 1).origin().equals(t.origin()))) {
                        throw new UsageException("option " + shown + " requires an argument");
                    }
                    value = tokens.get(++i).text();
                }
            }
            case OPTIONAL -> { }
        }
        apply(d, m.negated, value, o, seen);
        return i;
    }

    private static int shortOptions(List<Token> tokens, int i, Options o, Seen seen) {
        String s = tokens.get(i).text();
        for (int k = 1; k < s.length(); k++) {
            char c = s.charAt(k);
            OptionDef d = OptionTable.byShort(c);
            if (d == null) throw new UsageException("unknown option '-" + c + "'");
            String rest = s.substring(k + 1);
            switch (d.arg()) {
                case NONE -> {
                    apply(d, false, null, o, seen);
                    if (seen.version || seen.help) return i;
                    continue;
                }
                case REQUIRED -> {
                    String v = rest;
                    if (v.isEmpty()) {
                        if (i + 1 >= tokens.size() || tokens.get(i + 1).fromConfig()) {
                            throw new UsageException("option '-" + c + "' requires an argument");
                        }
                        v = tokens.get(++i).text();
                    }
                    apply(d, false, v, o, seen);
                    return i;
                }
                case OPTIONAL -> {
                    apply(d, false, rest.isEmpty() ? null : rest, o, seen);
                    return i;
                }
            }
        }
        return i;
    }

    private static void apply(OptionDef d, boolean negated, String value, Options o, Seen seen) {
        switch (d.name()) {
            case "help" -> seen.help = true;
            case "version" -> seen.version = true;
            default -> { }
        }
        if (d.isFlag()) {
            d.flag().apply(o, !negated);
            // ghost-fiemap is the one boolean that defaults to on: turning it off is the request
            if (!negated) seen.requested.add(d.name());
            else if (d.name().equals("ghost-fiemap")) seen.requested.add("no-" + d.name());
        } else {
            d.setter().apply(o, value);
            seen.requested.add(d.name());
        }
    }

    private record Match(OptionDef def, boolean negated, String name) {}

    /** Exact name, else the unique option whose name (or {@code no-} twin) starts with it. */
    private static Match lookup(String name, Token t) {
        Map<String, OptionDef> all = OptionTable.byName();
        OptionDef d = all.get(name);
        if (d != null) return new Match(d, false, name);
        if (name.startsWith("no-")) {
            d = all.get(name.substring(3));
            if (d != null && d.isFlag()) return new Match(d, true, name);
        }
        List<Match> hits = new ArrayList<>();
        for (OptionDef c : all.values()) {
            if (c.name().startsWith(name)) hits.add(new Match(c, false, c.name()));
            if (c.isFlag() && ("no-" + c.name()).startsWith(name)) hits.add(new Match(c, true, "no-" + c.name()));
        }
        String shown = t.fromConfig() ? "'" + name + "' in " + t.origin() : "'--" + name + "'";
        if (hits.size() == 1) return hits.getFirst();
        if (hits.isEmpty()) throw new UsageException("unknown option " + shown);
        List<String> names = hits.stream().map(h -> "--" + h.name()).toList();
        throw new UsageException("option " + shown + " is ambiguous; possibilities: " + String.join(" ", names));
    }
}

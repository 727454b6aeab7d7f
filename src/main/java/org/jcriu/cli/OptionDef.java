package org.jcriu.cli;

import java.util.Set;

import org.jcriu.opts.Options;

/**
 * One option of criu(8): its long name, optional short letter, argument kind, the commands for
 * which it changes behaviour ({@code scope}; empty = handled by the command line itself for
 * every command) and how it lands in {@link Options}. Boolean options get a {@code --no-} twin.
 */
record OptionDef(String name, char shortName, Arg arg, Set<String> scope, Setter setter, Flag flag) {
    enum Arg { NONE, REQUIRED, OPTIONAL }

    /** Applies an option with its argument (null when an optional argument was not given). */
    @FunctionalInterface
    interface Setter {
        void apply(Options o, String arg);
    }

    /** Applies a boolean option: true for {@code --name}, false for {@code --no-name}. */
    @FunctionalInterface
    interface Flag {
        void apply(Options o, boolean value);
    }

    boolean isFlag() {
        return flag != null;
    }

    /** How the user wrote it, for messages: {@code --name} (or {@code -x} when short only matters). */
    String display() {
        return "--" + name;
    }
}

package org.jcriu.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** jcriu's log files (-o) as tests quote them in a failure message. */
public final class Logs {
    private Logs() {}

    /** The last 30 lines of {@code log} after a newline, or "" when jcriu wrote no log. */
    public static String tail(Path log) {
        return tail(log, 30);
    }

    public static String tail(Path log, int lines) {
        if (!Files.exists(log)) return "";
        try {
            List<String> l = Files.readAllLines(log);
            return "\n" + String.join("\n", l.subList(Math.max(0, l.size() - lines), l.size()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

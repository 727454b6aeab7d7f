package org.jcriu.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * criu(8) configuration files: one long option per line without its leading {@code --}, its
 * argument after white space, optionally in double quotes ({@code \"} is a literal quote, every
 * other backslash is literal); a word starting with {@code #} comments out the rest of the line.
 * Every line becomes {@code --name [arg...]} tokens, exactly what CRIU feeds to getopt_long.
 */
final class ConfigFile {
    private ConfigFile() {}

    /** Tokens of the file, or null when it cannot be read (missing default files are skipped). */
    static List<ArgParser.Token> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        }
        return parse(file.toString(), lines);
    }

    static List<ArgParser.Token> parse(String name, List<String> lines) {
        List<ArgParser.Token> out = new ArrayList<>();
        for (int n = 0; n < lines.size(); n++) {
            List<String> words = words(lines.get(n), name, n + 1);
            for (int w = 0; w < words.size(); w++) {
                String text = w == 0 ? "--" + words.get(w) : words.get(w);
                out.add(new ArgParser.Token(text, name + " line " + (n + 1), true));
            }
        }
        return out;
    }

    static List<String> words(String line, String name, int lineNo) {
        List<String> words = new ArrayList<>();
        int i = 0, len = line.length();
        while (true) {
            while (i < len && Character.isWhitespace(line.charAt(i))) i++;
            if (i >= len || line.charAt(i) == '#') return words;
            StringBuilder w = new StringBuilder();
            if (line.charAt(i) == '"') {
                i++;
                boolean closed = false;
                while (i < len) {
                    char c = line.charAt(i);
                    if (c == '\\' && i + 1 < len && line.charAt(i + 1) == '"') {
                        w.append('"');
                        i += 2;
                    } else if (c == '"') {
                        i++;
                        closed = true;
                        break;
                    } else {
                        w.append(c);
                        i++;
                    }
                }
                if (!closed) throw new UsageException("in " + name + " line " + lineNo + ": unterminated quote");
            } else {
                while (i < len && !Character.isWhitespace(line.charAt(i))) w.append(line.charAt(i++));
            }
            words.add(w.toString());
        }
    }
}

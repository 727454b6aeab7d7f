package org.jcriu.crit;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON that crit reads and writes, formatted exactly like Python's {@code json.dump}:
 * ASCII only ({@code \}uXXXX escapes, surrogate pairs above the BMP), {@code ", "} and
 * {@code ": "} separators on one line, or with {@code indent} the item separator {@code ","}
 * and one member per line. Values are {@code Map<String,Object>} (insertion order),
 * {@code List<Object>}, {@code String}, {@code Long}/{@code BigInteger}, {@code Boolean} or
 * null; parsed fractions become {@code BigDecimal}.
 */
public final class Json {
    private Json() {
    }

    public static String write(Object v, int indent) {
        StringBuilder b = new StringBuilder(4096);
        write(b, v, indent, 0);
        return b.toString();
    }

    /** Appends {@code v} as if it were nested {@code depth} levels deep (for streamed output). */
    static void write(StringBuilder b, Object v, int indent, int depth) {
        // instanceof rather than a pattern switch: the switch's bootstrap spins a class at
        // first use, a few milliseconds of every jcrit start.
        if (v == null) {
            b.append("null");
        } else if (v instanceof String s) {
            string(b, s);
        } else if (v instanceof Boolean x) {
            b.append(x ? "true" : "false");
        } else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                b.append("{}");
                return;
            }
            b.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sep(b, first, indent, depth + 1);
                first = false;
                string(b, (String) e.getKey());
                b.append(": ");
                write(b, e.getValue(), indent, depth + 1);
            }
            close(b, indent, depth);
            b.append('}');
        } else if (v instanceof List<?> l) {
            if (l.isEmpty()) {
                b.append("[]");
                return;
            }
            b.append('[');
            boolean first = true;
            for (Object o : l) {
                sep(b, first, indent, depth + 1);
                first = false;
                write(b, o, indent, depth + 1);
            }
            close(b, indent, depth);
            b.append(']');
        } else if (v instanceof Long n) {
            b.append(n.longValue());
        } else if (v instanceof Number n) {
            b.append(n.toString());
        } else {
            throw new IllegalArgumentException("not JSON: " + v.getClass());
        }
    }

    private static void sep(StringBuilder b, boolean first, int indent, int depth) {
        if (indent <= 0) {
            if (!first) {
                b.append(", ");
            }
            return;
        }
        if (!first) {
            b.append(',');
        }
        b.append('\n');
        b.repeat(' ', indent * depth);
    }

    private static void close(StringBuilder b, int indent, int depth) {
        if (indent > 0) {
            b.append('\n');
            b.repeat(' ', indent * depth);
        }
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    static void string(StringBuilder b, String s) {
        int k = 0;
        while (k < s.length()) {
            char c = s.charAt(k);
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
                break;
            }
            k++;
        }
        if (k == s.length()) {
            // The common case (field names, paths): nothing to escape.
            b.append('"').append(s).append('"');
            return;
        }
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        b.append("\\u").append(HEX[c >> 12 & 15]).append(HEX[c >> 8 & 15]).append(HEX[c >> 4 & 15]).append(HEX[c & 15]);
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }

    /** Parses one JSON document (Python's json.load accepts surrounding whitespace only). */
    public static Object parse(String text) {
        Parser p = new Parser(text);
        p.ws();
        Object v = p.value();
        p.ws();
        if (p.i != text.length()) {
            throw p.error("Extra data");
        }
        return v;
    }

    /** Malformed JSON input; the message gives line and column like Python's. */
    public static final class JsonException extends RuntimeException {
        JsonException(String m) {
            super(m);
        }
    }

    private static final class Parser {
        final String s;
        int i;

        Parser(String s) {
            this.s = s;
        }

        JsonException error(String what) {
            int line = 1;
            int col = 1;
            for (int k = 0; k < i && k < s.length(); k++) {
                if (s.charAt(k) == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            return new JsonException(what + ": line " + line + " column " + col + " (char " + i + ")");
        }

        void ws() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                    break;
                }
                i++;
            }
        }

        Object value() {
            if (i >= s.length()) {
                throw error("Expecting value");
            }
            char c = s.charAt(i);
            switch (c) {
                case '{' -> {
                    i++;
                    Map<String, Object> m = new LinkedHashMap<>();
                    ws();
                    if (peek('}')) {
                        i++;
                        return m;
                    }
                    while (true) {
                        ws();
                        if (!peek('"')) {
                            throw error("Expecting property name enclosed in double quotes");
                        }
                        String k = str();
                        ws();
                        expect(':', "Expecting ':' delimiter");
                        ws();
                        m.put(k, value());
                        ws();
                        if (peek(',')) {
                            i++;
                            continue;
                        }
                        expect('}', "Expecting ',' delimiter");
                        return m;
                    }
                }
                case '[' -> {
                    i++;
                    List<Object> l = new ArrayList<>();
                    ws();
                    if (peek(']')) {
                        i++;
                        return l;
                    }
                    while (true) {
                        ws();
                        l.add(value());
                        ws();
                        if (peek(',')) {
                            i++;
                            continue;
                        }
                        expect(']', "Expecting ',' delimiter");
                        return l;
                    }
                }
                case '"' -> {
                    return str();
                }
                default -> {
                    if (s.startsWith("true", i)) {
                        i += 4;
                        return Boolean.TRUE;
                    }
                    if (s.startsWith("false", i)) {
                        i += 5;
                        return Boolean.FALSE;
                    }
                    if (s.startsWith("null", i)) {
                        i += 4;
                        return null;
                    }
                    return number();
                }
            }
        }

        boolean peek(char c) {
            return i < s.length() && s.charAt(i) == c;
        }

        void expect(char c, String msg) {
            if (!peek(c)) {
                throw error(msg);
            }
            i++;
        }

        Object number() {
            int start = i;
            if (peek('-')) {
                i++;
            }
            while (i < s.length() && Character.isDigit(s.charAt(i))) {
                i++;
            }
            boolean frac = false;
            if (peek('.')) {
                frac = true;
                i++;
                while (i < s.length() && Character.isDigit(s.charAt(i))) {
                    i++;
                }
            }
            if (peek('e') || peek('E')) {
                frac = true;
                i++;
                if (peek('+') || peek('-')) {
                    i++;
                }
                while (i < s.length() && Character.isDigit(s.charAt(i))) {
                    i++;
                }
            }
            String t = s.substring(start, i);
            if (t.isEmpty() || t.equals("-")) {
                i = start;
                throw error("Expecting value");
            }
            try {
                if (frac) {
                    return new BigDecimal(t);
                }
                BigInteger v = new BigInteger(t);
                return v.bitLength() < 64 ? (Object) v.longValue() : v;
            } catch (NumberFormatException e) {
                i = start;
                throw error("Expecting value");
            }
        }

        String str() {
            i++;
            StringBuilder b = new StringBuilder();
            while (true) {
                if (i >= s.length()) {
                    throw error("Unterminated string starting at");
                }
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c == '\\') {
                    if (i >= s.length()) {
                        throw error("Unterminated string starting at");
                    }
                    char e = s.charAt(i++);
                    switch (e) {
                        case '"', '\\', '/' -> b.append(e);
                        case 'n' -> b.append('\n');
                        case 'r' -> b.append('\r');
                        case 't' -> b.append('\t');
                        case 'b' -> b.append('\b');
                        case 'f' -> b.append('\f');
                        case 'u' -> {
                            if (i + 4 > s.length()) {
                                throw error("Invalid \\uXXXX escape");
                            }
                            try {
                                b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            } catch (NumberFormatException x) {
                                throw error("Invalid \\uXXXX escape");
                            }
                            i += 4;
                        }
                        default -> throw error("Invalid \\escape");
                    }
                } else {
                    b.append(c);
                }
            }
        }
    }
}

package org.jcriu.crit;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Strings that are not UTF-8. CRIU stores paths and names in proto "string" fields as the
 * kernel gives them, i.e. any bytes; crit then prints Python's repr of the bytes
 * ({@code "b'/tmp/\\xff'"}). jcrit prints the same and, unlike crit, turns such a repr back into
 * the original bytes on encode, so that those images survive a round trip.
 */
final class PyBytes {
    private PyBytes() {
    }

    /** The raw bytes of every occurrence of length-delimited field {@code number} in a message's wire form, in order. */
    static List<ByteString> raw(ByteString wire, int number) {
        try {
            return UnknownFieldSet.parseFrom(wire).getField(number).getLengthDelimitedList();
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    static boolean validUtf8(ByteString b) {
        return b.isValidUtf8();
    }

    /** Python's repr() of a bytes object. */
    static String repr(byte[] b) {
        boolean single = false;
        boolean dbl = false;
        for (byte x : b) {
            single |= x == '\'';
            dbl |= x == '"';
        }
        char q = single && !dbl ? '"' : '\'';
        StringBuilder s = new StringBuilder("b").append(q);
        for (byte x : b) {
            int c = x & 0xff;
            if (c == q || c == '\\') {
                s.append('\\').append((char) c);
            } else if (c == '\t') {
                s.append("\\t");
            } else if (c == '\n') {
                s.append("\\n");
            } else if (c == '\r') {
                s.append("\\r");
            } else if (c < 0x20 || c >= 0x7f) {
                s.append(String.format("\\x%02x", c));
            } else {
                s.append((char) c);
            }
        }
        return s.append(q).toString();
    }

    /** The bytes a repr() stands for, or null when {@code s} is not one of non-UTF-8 bytes. */
    static byte[] unrepr(String s) {
        if (s.length() < 3 || s.charAt(0) != 'b' || (s.charAt(1) != '\'' && s.charAt(1) != '"') || s.charAt(s.length() - 1) != s.charAt(1)) {
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 2; i < s.length() - 1; i++) {
            char c = s.charAt(i);
            if (c > 0x7e || c < 0x20) {
                return null;
            }
            if (c != '\\') {
                out.write(c);
                continue;
            }
            if (++i >= s.length() - 1) {
                return null;
            }
            char e = s.charAt(i);
            switch (e) {
                case 't' -> out.write('\t');
                case 'n' -> out.write('\n');
                case 'r' -> out.write('\r');
                case '\\', '\'', '"' -> out.write(e);
                case 'x' -> {
                    if (i + 2 > s.length() - 2) {
                        return null;
                    }
                    int v = Character.digit(s.charAt(i + 1), 16) << 4 | Character.digit(s.charAt(i + 2), 16);
                    if (v < 0) {
                        return null;
                    }
                    out.write(v);
                    i += 2;
                }
                default -> {
                    return null;
                }
            }
        }
        byte[] b = out.toByteArray();
        return ByteString.copyFrom(b).isValidUtf8() ? null : b;
    }

    static String decodeUtf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}

package org.jcriu.crit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Python's quopri.encodestring/decodestring (binascii b2a_qp/a2b_qp with quotetabs and
 * header off), which crit uses for unix socket names: abstract names start with a NUL byte,
 * which base64 would hide.
 */
final class QuotedPrintable {
    private QuotedPrintable() {
    }

    private static final int MAXLINESIZE = 76;
    private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);

    static String encode(byte[] d) {
        int n = d.length;
        boolean crlf = false;
        for (int i = 0; i < n; i++) {
            if (d[i] == '\n') {
                crlf = i > 0 && d[i - 1] == '\r';
                break;
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(n * 3);
        byte[] o = new byte[Math.max(16, n * 3 + n / 25 * 3 + 8)];
        int w = 0;
        int line = 0;
        for (int in = 0; in < n;) {
            int c = d[in] & 0xff;
            boolean last = in + 1 == n;
            int next = last ? -1 : d[in + 1] & 0xff;
            boolean encode = c > 126 || c == '='
                    || (c == '.' && line == 0 && (last || next == '\n' || next == '\r' || next == 0))
                    || ((c == '\t' || c == ' ') && last)
                    || (c < 33 && c != '\r' && c != '\n' && c != '\t' && c != ' ');
            if (encode) {
                if (line + 3 >= MAXLINESIZE) {
                    o[w++] = '=';
                    if (crlf) {
                        o[w++] = '\r';
                    }
                    o[w++] = '\n';
                    line = 0;
                }
                o[w++] = '=';
                o[w++] = HEX[c >> 4];
                o[w++] = HEX[c & 15];
                line += 3;
                in++;
            } else if (c == '\n' || (c == '\r' && next == '\n')) {
                line = 0;
                if (w > 0 && (o[w - 1] == ' ' || o[w - 1] == '\t')) {
                    int ch = o[w - 1];
                    o[w - 1] = '=';
                    o[w++] = HEX[ch >> 4];
                    o[w++] = HEX[ch & 15];
                }
                if (crlf) {
                    o[w++] = '\r';
                }
                o[w++] = '\n';
                in += c == '\r' ? 2 : 1;
            } else {
                if (!last && next != '\n' && line + 1 >= MAXLINESIZE) {
                    o[w++] = '=';
                    if (crlf) {
                        o[w++] = '\r';
                    }
                    o[w++] = '\n';
                    line = 0;
                }
                line++;
                o[w++] = (byte) c;
                in++;
            }
        }
        out.write(o, 0, w);
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    static byte[] decode(String s) {
        byte[] d = s.getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream out = new ByteArrayOutputStream(d.length);
        int i = 0;
        while (i < d.length) {
            if (d[i] != '=') {
                out.write(d[i++]);
                continue;
            }
            if (i + 1 < d.length && d[i + 1] == '\n') {
                i += 2;
            } else if (i + 2 < d.length && d[i + 1] == '\r' && d[i + 2] == '\n') {
                i += 3;
            } else if (i + 2 < d.length && hex(d[i + 1]) >= 0 && hex(d[i + 2]) >= 0) {
                out.write(hex(d[i + 1]) << 4 | hex(d[i + 2]));
                i += 3;
            } else if (i + 1 == d.length) {
                i++;
            } else {
                out.write(d[i++]);
            }
        }
        return out.toByteArray();
    }

    private static int hex(byte b) {
        return Character.digit((char) b, 16);
    }
}

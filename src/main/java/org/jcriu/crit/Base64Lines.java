package org.jcriu.crit;

import java.util.Base64;

/** Python's base64.encodebytes/decodebytes: 76-character lines, each ending in a newline. */
final class Base64Lines {
    private Base64Lines() {
    }

    static String encode(byte[] b) {
        String s = Base64.getEncoder().encodeToString(b);
        StringBuilder out = new StringBuilder(s.length() + s.length() / 76 + 1);
        for (int i = 0; i < s.length(); i += 76) {
            out.append(s, i, Math.min(s.length(), i + 76)).append('\n');
        }
        return out.toString();
    }

    /** Decodes leniently like binascii.a2b_base64: characters outside the alphabet are ignored. */
    static byte[] decode(String s) {
        StringBuilder clean = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=') {
                clean.append(c);
            }
        }
        String t = clean.toString();
        int eq = t.indexOf('=');
        if (eq >= 0) {
            t = t.substring(0, eq);
        }
        try {
            // The decoder takes unpadded input; padding was cut above with anything after it.
            return Base64.getDecoder().decode(t);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid base64 data: " + e.getMessage());
        }
    }
}

package org.jcriu.crit;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tables behind the (criu).flags and (criu).dict field options: names of bits in mmap
 * prot/flags, VMA status, open(2) flags, pagemap and memfd seal flags, and of task states and
 * socket constants. Their order is the order names are printed in.
 */
final class FieldStyle {
    private FieldStyle() {
    }

    record Bit(String name, long value) {
    }

    static final Map<String, List<Bit>> FLAGS = Map.of(
            "mmap.prot", List.of(new Bit("PROT_READ", 0x1), new Bit("PROT_WRITE", 0x2), new Bit("PROT_EXEC", 0x4)),
            "mmap.flags", List.of(new Bit("MAP_SHARED", 0x1), new Bit("MAP_PRIVATE", 0x2), new Bit("MAP_DROPPABLE", 0x08),
                    new Bit("MAP_ANON", 0x20), new Bit("MAP_GROWSDOWN", 0x0100)),
            "mmap.status", List.of(new Bit("VMA_AREA_NONE", 0), new Bit("VMA_AREA_REGULAR", 1L << 0), new Bit("VMA_AREA_STACK", 1L << 1),
                    new Bit("VMA_AREA_VSYSCALL", 1L << 2), new Bit("VMA_AREA_VDSO", 1L << 3), new Bit("VMA_AREA_HEAP", 1L << 5),
                    new Bit("VMA_FILE_PRIVATE", 1L << 6), new Bit("VMA_FILE_SHARED", 1L << 7), new Bit("VMA_ANON_SHARED", 1L << 8),
                    new Bit("VMA_ANON_PRIVATE", 1L << 9), new Bit("VMA_AREA_SYSVIPC", 1L << 10), new Bit("VMA_AREA_SOCKET", 1L << 11),
                    new Bit("VMA_AREA_VVAR", 1L << 12), new Bit("VMA_AREA_AIORING", 1L << 13), new Bit("VMA_AREA_MEMFD", 1L << 14),
                    new Bit("VMA_AREA_SHSTK", 1L << 15), new Bit("VMA_AREA_UPROBES", 1L << 17), new Bit("VMA_UNSUPP", 1L << 31)),
            "rfile.flags", List.of(new Bit("O_WRONLY", 01), new Bit("O_RDWR", 02), new Bit("O_CREAT", 0100), new Bit("O_EXCL", 0200),
                    new Bit("O_NOCTTY", 0400), new Bit("O_TRUNC", 01000), new Bit("O_APPEND", 02000), new Bit("O_NONBLOCK", 04000),
                    new Bit("O_DSYNC", 010000), new Bit("FASYNC", 020000), new Bit("O_DIRECT", 040000), new Bit("O_LARGEFILE", 0100000),
                    new Bit("O_DIRECTORY", 0200000), new Bit("O_NOFOLLOW", 0400000), new Bit("O_NOATIME", 01000000),
                    new Bit("O_CLOEXEC", 02000000)),
            "pmap.flags", List.of(new Bit("PE_PARENT", 1), new Bit("PE_LAZY", 2), new Bit("PE_PRESENT", 4)),
            "seals.flags", List.of(new Bit("F_SEAL_SEAL", 1), new Bit("F_SEAL_SHRINK", 2), new Bit("F_SEAL_GROW", 4),
                    new Bit("F_SEAL_WRITE", 8), new Bit("F_SEAL_FUTURE_WRITE", 0x10)));

    /** dict name -> field name -> value -> text. */
    static final Map<String, Map<String, Map<Long, String>>> DICTS = Map.of(
            "gen", Map.of("task_state", ordered(1, "Alive", 3, "Zombie", 6, "Stopped")),
            "sk", Map.of(
                    "family", ordered(1, "UNIX", 2, "INET", 10, "INET6", 16, "NETLINK", 17, "PACKET"),
                    "type", ordered(1, "STREAM", 2, "DGRAM", 3, "RAW", 5, "SEQPACKET", 10, "PACKET"),
                    "state", ordered(1, "ESTABLISHED", 2, "SYN_SENT", 3, "SYN_RECV", 4, "FIN_WAIT1", 5, "FIN_WAIT2",
                            6, "TIME_WAIT", 7, "CLOSE", 8, "CLOSE_WAIT", 9, "LAST_ACK", 10, "LISTEN"),
                    "proto", ordered(0, "IP", 6, "TCP", 17, "UDP", 136, "UDPLITE")));

    private static Map<Long, String> ordered(Object... kv) {
        Map<Long, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(((Integer) kv[i]).longValue(), (String) kv[i + 1]);
        }
        return m;
    }

    /** "A | B | 0x..." as crit prints flag words (no bit set prints as an empty string). */
    static String mapFlags(long value, List<Bit> bits) {
        StringBuilder b = new StringBuilder();
        long all = 0;
        for (Bit bit : bits) {
            if ((value & bit.value) != 0) {
                if (!b.isEmpty()) {
                    b.append(" | ");
                }
                b.append(bit.name);
            }
            all += bit.value;
        }
        long rest = value & ~all;
        if (rest != 0) {
            if (!b.isEmpty()) {
                b.append(" | ");
            }
            b.append("0x").append(Long.toHexString(rest));
        }
        return b.toString();
    }

    /** Python's "0x%x" of an integer (a minus sign before the prefix for negative values). */
    static String hex(Number v) {
        if (v instanceof java.math.BigInteger b) {
            return b.signum() < 0 ? "-0x" + b.negate().toString(16) : "0x" + b.toString(16);
        }
        long l = v.longValue();
        return l < 0 ? "-0x" + Long.toHexString(-l) : "0x" + Long.toHexString(l);
    }

    private static final int MINORBITS = 20;

    static String dev(long v, boolean odev) {
        if (odev) {
            // glibc's major()/minor() of a dev_t.
            long major = ((v >>> 8) & 0xfff) | ((v >>> 32) & ~0xfffL);
            long minor = (v & 0xff) | ((v >>> 12) & ~0xffL);
            return major + ":" + minor;
        }
        return (v >>> MINORBITS) + ":" + (v & ((1L << MINORBITS) - 1));
    }

    static String ipText(List<?> words) {
        byte[] b = new byte[words.size() == 1 ? 4 : 16];
        // One word is IPv4, anything else is read as the four words of IPv6 (missing ones 0).
        int n = Math.min(words.size(), 4);
        for (int i = 0; i < n; i++) {
            // Words hold the address in network order as the kernel stores it; on a
            // little-endian host the first byte of the address is the word's low byte.
            int w = (Integer) words.get(i);
            b[4 * i] = (byte) w;
            b[4 * i + 1] = (byte) (w >>> 8);
            b[4 * i + 2] = (byte) (w >>> 16);
            b[4 * i + 3] = (byte) (w >>> 24);
        }
        if (b.length == 16) {
            // Not InetAddress: it turns IPv4-mapped addresses into IPv4 ones, Python does not.
            return ipv6Compressed(b);
        }
        return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
    }

    /** RFC 5952 text, as Python's IPv6Address.compressed (IPv4-mapped stays hex). */
    static String ipv6Compressed(byte[] b) {
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = (b[2 * i] & 0xff) << 8 | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 0;
        for (int i = 0; i < 8;) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        if (bestLen < 2) {
            bestStart = -1;
        }
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                s.append(i == 0 ? "::" : ":");
                i += bestLen - 1;
                continue;
            }
            s.append(Integer.toHexString(g[i]));
            if (i < 7) {
                s.append(':');
            }
        }
        return s.toString();
    }
}

package org.jcriu.files.unix;

import java.nio.charset.StandardCharsets;

/** Facts of the unix socket image format shared by dump and restore. */
final class UnixSk {
    private UnixSk() {}

    /** unix_sk_entry.uflags (criu/sk-unix.c). */
    static final int USK_EXTERN = 1, USK_SERVICE = 2, USK_CALLBACK = 4, USK_INHERIT = 8;
    /** sk states as the kernel reports them (tcp_states.h). */
    static final int TCP_ESTABLISHED = 1, TCP_CLOSE = 7, TCP_LISTEN = 10;
    /** sk_shutdown bits. */
    static final int RCV_SHUTDOWN = 1, SEND_SHUTDOWN = 2;

    /** A readable form of a socket name: abstract names as "@name", paths without their NUL. */
    static String show(byte[] name) {
        if (name == null || name.length == 0) return "(unbound)";
        if (name[0] == 0) return "@" + new String(name, 1, name.length - 1, StandardCharsets.UTF_8);
        return path(name);
    }

    /** The filesystem path of a bound name (up to its first NUL), or null for abstract/unbound. */
    static String path(byte[] name) {
        if (name == null || name.length == 0 || name[0] == 0) return null;
        int n = 0;
        while (n < name.length && name[n] != 0) n++;
        return new String(name, 0, n, StandardCharsets.UTF_8);
    }

    static String typeName(int type) {
        return switch (type) {
            case 1 -> "stream";
            case 2 -> "dgram";
            case 5 -> "seqpacket";
            default -> "type " + type;
        };
    }
}

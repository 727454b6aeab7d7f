package org.jcriu.log;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.MessageOrBuilder;

/**
 * --display-stats: prints a stats_entry in CRIU's layout (criu/stats.c display_stats) on stdout.
 * Takes the message generically (fields looked up by their proto names) so this package does not
 * depend on the generated image classes: pass the StatsEntry that was written to stats-dump or
 * stats-restore.
 */
public final class StatsDisplay {
    private StatsDisplay() {}

    /** Prints the dump part if the entry has one, else the restore part. */
    public static void print(MessageOrBuilder stats) {
        Log.msg("%s", format(stats));
    }

    public static String format(MessageOrBuilder stats) {
        StringBuilder sb = new StringBuilder();
        MessageOrBuilder d = sub(stats, "dump");
        MessageOrBuilder r = sub(stats, "restore");
        if (d != null) {
            sb.append("Displaying dump stats:\n");
            sb.append("Freezing time: ").append(num(d, "freezing_time")).append(" us\n");
            sb.append("Frozen time: ").append(num(d, "frozen_time")).append(" us\n");
            sb.append("Memory dump time: ").append(num(d, "memdump_time")).append(" us\n");
            sb.append("Memory write time: ").append(num(d, "memwrite_time")).append(" us\n");
            if (has(d, "irmap_resolve")) sb.append("IRMAP resolve time: ").append(num(d, "irmap_resolve")).append(" us\n");
            pages(sb, "Memory pages scanned", num(d, "pages_scanned"));
            pages(sb, "Memory pages skipped from parent", num(d, "pages_skipped_parent"));
            pages(sb, "Memory pages written", num(d, "pages_written"));
            pages(sb, "Lazy memory pages", num(d, "pages_lazy"));
        } else if (r != null) {
            sb.append("Displaying restore stats:\n");
            pages(sb, "Pages compared", num(r, "pages_compared"));
            pages(sb, "Pages skipped COW", num(r, "pages_skipped_cow"));
            if (has(r, "pages_restored")) pages(sb, "Pages restored", num(r, "pages_restored"));
            sb.append("Restore time: ").append(num(r, "restore_time")).append(" us\n");
            sb.append("Forking time: ").append(num(r, "forking_time")).append(" us\n");
        }
        return sb.toString();
    }

    private static void pages(StringBuilder sb, String what, long n) {
        sb.append(what).append(": ").append(Long.toUnsignedString(n)).append(" (0x").append(Long.toHexString(n)).append(")\n");
    }

    private static MessageOrBuilder sub(MessageOrBuilder m, String name) {
        FieldDescriptor f = m.getDescriptorForType().findFieldByName(name);
        if (f == null || !m.hasField(f)) return null;
        return (MessageOrBuilder) m.getField(f);
    }

    private static boolean has(MessageOrBuilder m, String name) {
        FieldDescriptor f = m.getDescriptorForType().findFieldByName(name);
        return f != null && m.hasField(f);
    }

    private static long num(MessageOrBuilder m, String name) {
        FieldDescriptor f = m.getDescriptorForType().findFieldByName(name);
        if (f == null) return 0;
        return ((Number) m.getField(f)).longValue();
    }
}

package org.jcriu.log;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Label;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DynamicMessage;

import org.junit.jupiter.api.Test;

/** CRIU's stats.proto shape built at runtime, so this test does not depend on the image classes. */
class StatsDisplayTest {
    static FieldDescriptorProto field(String name, int n, Type t) {
        return FieldDescriptorProto.newBuilder().setName(name).setNumber(n).setType(t).setLabel(Label.LABEL_OPTIONAL).build();
    }

    static FieldDescriptorProto msgField(String name, int n, String type) {
        return field(name, n, Type.TYPE_MESSAGE).toBuilder().setTypeName(type).build();
    }

    static final FileDescriptor FILE;

    static {
        DescriptorProto dump = DescriptorProto.newBuilder().setName("dump_stats_entry")
                .addField(field("freezing_time", 1, Type.TYPE_UINT32))
                .addField(field("frozen_time", 2, Type.TYPE_UINT32))
                .addField(field("memdump_time", 3, Type.TYPE_UINT32))
                .addField(field("memwrite_time", 4, Type.TYPE_UINT32))
                .addField(field("pages_scanned", 5, Type.TYPE_UINT64))
                .addField(field("pages_skipped_parent", 6, Type.TYPE_UINT64))
                .addField(field("pages_written", 7, Type.TYPE_UINT64))
                .addField(field("irmap_resolve", 8, Type.TYPE_UINT32))
                .addField(field("pages_lazy", 9, Type.TYPE_UINT64)).build();
        DescriptorProto rst = DescriptorProto.newBuilder().setName("restore_stats_entry")
                .addField(field("pages_compared", 1, Type.TYPE_UINT64))
                .addField(field("pages_skipped_cow", 2, Type.TYPE_UINT64))
                .addField(field("forking_time", 3, Type.TYPE_UINT32))
                .addField(field("restore_time", 4, Type.TYPE_UINT32))
                .addField(field("pages_restored", 5, Type.TYPE_UINT64)).build();
        DescriptorProto stats = DescriptorProto.newBuilder().setName("stats_entry")
                .addField(msgField("dump", 1, ".dump_stats_entry"))
                .addField(msgField("restore", 2, ".restore_stats_entry")).build();
        try {
            FILE = FileDescriptor.buildFrom(FileDescriptorProto.newBuilder().setName("stats.proto").setSyntax("proto2")
                    .addMessageType(dump).addMessageType(rst).addMessageType(stats).build(), new FileDescriptor[0]);
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static DynamicMessage.Builder b(String type) {
        return DynamicMessage.newBuilder(FILE.findMessageTypeByName(type));
    }

    static DynamicMessage.Builder set(DynamicMessage.Builder m, String f, Object v) {
        Descriptor d = m.getDescriptorForType();
        return m.setField(d.findFieldByName(f), v);
    }

    @Test
    void dumpStatsInCriuLayout() {
        DynamicMessage.Builder d = b("dump_stats_entry");
        set(d, "freezing_time", 1200);
        set(d, "frozen_time", 25000);
        set(d, "memdump_time", 800);
        set(d, "memwrite_time", 300);
        set(d, "pages_scanned", 4096L);
        set(d, "pages_skipped_parent", 0L);
        set(d, "pages_written", 30L);
        set(d, "irmap_resolve", 0);
        set(d, "pages_lazy", 0L);
        DynamicMessage s = set(b("stats_entry"), "dump", d.build()).build();
        assertEquals("""
                Displaying dump stats:
                Freezing time: 1200 us
                Frozen time: 25000 us
                Memory dump time: 800 us
                Memory write time: 300 us
                IRMAP resolve time: 0 us
                Memory pages scanned: 4096 (0x1000)
                Memory pages skipped from parent: 0 (0x0)
                Memory pages written: 30 (0x1e)
                Lazy memory pages: 0 (0x0)
                """, StatsDisplay.format(s));
    }

    @Test
    void restoreStatsInCriuLayout() {
        DynamicMessage.Builder r = b("restore_stats_entry");
        set(r, "pages_compared", 0L);
        set(r, "pages_skipped_cow", 0L);
        set(r, "forking_time", 150);
        set(r, "restore_time", 9000);
        DynamicMessage s = set(b("stats_entry"), "restore", r.build()).build();
        assertEquals("""
                Displaying restore stats:
                Pages compared: 0 (0x0)
                Pages skipped COW: 0 (0x0)
                Restore time: 9000 us
                Forking time: 150 us
                """, StatsDisplay.format(s));
    }
}

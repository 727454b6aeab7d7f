package org.jcriu.crit;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.constant.ClassDesc;
import java.lang.constant.ConstantDescs;
import java.lang.constant.MethodTypeDesc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.CriuFieldOpts;
import org.jcriu.image.proto.IpcMsg;

/**
 * Writes {@link Schema}'s table from the protobuf descriptors; run by the build (process-classes)
 * into target/classes as the class file of {@link SchemaText}. The descriptors stay the single source: the table is only their
 * start-up-friendly copy, because building descriptors at run time costs jcrit more than
 * Python's whole crit run on a small image.
 */
public final class SchemaGen {
    private SchemaGen() {
    }

    /** Writes the class file of {@link SchemaText} holding the table into the classes directory {@code args[0]}. */
    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0], "org", "jcriu", "crit", "SchemaText.class");
        Files.write(out, classFile(generate()));
    }

    /**
     * SchemaText with {@code static String text()} returning {@code text}: ldc of string
     * constants, each under the class file format's 65535-byte limit, joined with concat.
     */
    static byte[] classFile(String text) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < text.length(); i += 16384) {
            parts.add(text.substring(i, Math.min(text.length(), i + 16384)));
        }
        if (parts.isEmpty()) {
            parts.add("");
        }
        ClassDesc self = ClassDesc.of("org.jcriu.crit.SchemaText");
        return ClassFile.of().build(self, cb -> cb
                .withFlags(ClassFile.ACC_FINAL | ClassFile.ACC_SUPER)
                .withVersion(ClassFile.JAVA_25_VERSION, 0)
                .withMethodBody("text", MethodTypeDesc.of(ConstantDescs.CD_String), ClassFile.ACC_STATIC, code -> {
                    code.ldc(parts.get(0));
                    for (String p : parts.subList(1, parts.size())) {
                        code.ldc(p);
                        code.invokevirtual(ConstantDescs.CD_String, "concat", MethodTypeDesc.of(ConstantDescs.CD_String, ConstantDescs.CD_String));
                    }
                    code.areturn();
                }));
    }

    static String generate() {
        StringBuilder b = new StringBuilder(1 << 16);
        Map<String, Descriptor> messages = new LinkedHashMap<>();
        Map<String, EnumDescriptor> enums = new LinkedHashMap<>();
        Deque<Descriptor> todo = new ArrayDeque<>();
        for (ImageType t : ImageType.values()) {
            if (t.isRaw()) {
                continue;
            }
            Descriptor first = t.firstEntry().getDescriptorForType();
            Descriptor entry = t.entry().getDescriptorForType();
            b.append("T ").append(t.name()).append(' ').append(first.getFullName()).append(' ').append(entry.getFullName()).append('\n');
            todo.add(first);
            todo.add(entry);
        }
        todo.add(IpcMsg.getDescriptor());
        while (!todo.isEmpty()) {
            Descriptor d = todo.poll();
            if (messages.putIfAbsent(d.getFullName(), d) != null) {
                continue;
            }
            for (FieldDescriptor f : d.getFields()) {
                if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                    todo.add(f.getMessageType());
                } else if (f.getJavaType() == FieldDescriptor.JavaType.ENUM) {
                    enums.putIfAbsent(f.getEnumType().getFullName(), f.getEnumType());
                }
            }
        }
        for (Descriptor d : messages.values()) {
            b.append("M ").append(d.getFullName()).append('\n');
            for (FieldDescriptor f : d.getFields().stream().sorted(Comparator.comparingInt(FieldDescriptor::getNumber)).toList()) {
                b.append("F ").append(f.getNumber()).append(' ').append(f.getName()).append(' ').append(f.getType().name());
                if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                    b.append(':').append(f.getMessageType().getFullName());
                } else if (f.getJavaType() == FieldDescriptor.JavaType.ENUM) {
                    b.append(':').append(f.getEnumType().getFullName());
                }
                b.append(' ').append(f.isRepeated() ? 'R' : f.isRequired() ? 'q' : 'o');
                CriuFieldOpts o = PbJson.opts(f);
                if (o.getHex()) {
                    b.append(" hex");
                }
                if (o.getIpadd()) {
                    b.append(" ipadd");
                }
                if (o.getDev()) {
                    b.append(" dev");
                }
                if (o.getOdev()) {
                    b.append(" odev");
                }
                if (o.hasFlags()) {
                    b.append(" flags=").append(o.getFlags());
                }
                if (o.hasDict()) {
                    b.append(" dict=").append(o.getDict());
                }
                if (o.hasConv()) {
                    b.append(" conv=").append(o.getConv());
                }
                b.append('\n');
            }
        }
        for (EnumDescriptor e : enums.values()) {
            b.append("E ").append(e.getFullName());
            for (EnumValueDescriptor v : e.getValues()) {
                b.append(' ').append(v.getNumber()).append('=').append(v.getName());
            }
            b.append('\n');
        }
        return b.toString();
    }
}

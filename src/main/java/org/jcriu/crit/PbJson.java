package org.jcriu.crit;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.jcriu.image.proto.CriuFieldOpts;
import org.jcriu.image.proto.OptsProto;

/**
 * Protobuf message to crit's JSON dictionary and back, driven only by descriptors and the
 * (criu) field options, as pycriu's pb2dict does: set fields in field-number order, enums by
 * name, bytes as base64 (quoted-printable for conv "unix_name"), and in pretty mode hex,
 * flags, dev, dict and ipadd renderings, hex being inherited by nested messages.
 */
final class PbJson {
    private PbJson() {
    }

    static Map<String, Object> toMap(Message m, boolean pretty) {
        // The generated message still holds the original bytes of string fields, which the
        // DynamicMessage decodes lossily; they are looked up only for strings with U+FFFD.
        return toMap(dynamic(m), m::toByteString, pretty, false);
    }

    /**
     * The same message as a DynamicMessage, whose fields are read from a map. Generated
     * messages answer getField() through reflection, and the first reflective call of each
     * accessor spins method handles: most of jcrit's run time on a small image.
     */
    static Message dynamic(Message m) {
        if (m instanceof DynamicMessage) {
            return m;
        }
        try {
            return DynamicMessage.parseFrom(m.getDescriptorForType(), m.toByteString());
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A field with its options resolved once: extension lookups are slow and done per value otherwise. */
    private record Field(FieldDescriptor fd, CriuFieldOpts opts) {
    }

    private static final ConcurrentHashMap<Descriptor, Field[]> FIELDS = new ConcurrentHashMap<>();

    private static Field[] fields(Descriptor d) {
        Field[] fs = FIELDS.get(d);
        if (fs == null) {
            fs = d.getFields().stream().sorted((a, b) -> Integer.compare(a.getNumber(), b.getNumber()))
                    .map(f -> new Field(f, opts(f))).toArray(Field[]::new);
            FIELDS.put(d, fs);
        }
        return fs;
    }

    private static Map<String, Object> toMap(Message m, Supplier<ByteString> wire, boolean pretty, boolean parentHex) {
        Map<String, Object> d = new LinkedHashMap<>();
        for (Field fi : fields(m.getDescriptorForType())) {
            FieldDescriptor f = fi.fd();
            CriuFieldOpts o = fi.opts();
            if (f.isRepeated()) {
                int n = m.getRepeatedFieldCount(f);
                if (n == 0) {
                    continue;
                }
                List<?> vs = (List<?>) m.getField(f);
                List<Object> out = new ArrayList<>(vs.size());
                if (pretty && o.getIpadd()) {
                    out.add(FieldStyle.ipText(vs));
                } else {
                    List<ByteString> raw = null;
                    for (int i = 0; i < vs.size(); i++) {
                        Object v = vs.get(i);
                        if (v instanceof String str && str.indexOf('\uFFFD') >= 0) {
                            raw = raw == null ? PyBytes.raw(wire.get(), f.getNumber()) : raw;
                            out.add(PyBytes.validUtf8(raw.get(i)) ? str : PyBytes.repr(raw.get(i).toByteArray()));
                        } else {
                            int index = i;
                            out.add(cast(f, o, v, () -> PyBytes.raw(wire.get(), f.getNumber()).get(index), pretty, parentHex));
                        }
                    }
                }
                d.put(f.getName(), out);
            } else if (m.hasField(f)) {
                Object v = m.getField(f);
                if (v instanceof String str && str.indexOf('\uFFFD') >= 0) {
                    // Possibly bytes that are not UTF-8, which protobuf-java replaced.
                    List<ByteString> raw = PyBytes.raw(wire.get(), f.getNumber());
                    ByteString last = raw.get(raw.size() - 1);
                    d.put(f.getName(), PyBytes.validUtf8(last) ? str : PyBytes.repr(last.toByteArray()));
                } else {
                    // A message field given more than once is merged; its last copy is what
                    // can hold the string, which is good enough for the rare non-UTF-8 case.
                    d.put(f.getName(), cast(f, o, v, () -> last(PyBytes.raw(wire.get(), f.getNumber())), pretty, parentHex));
                }
            }
        }
        return d;
    }

    static CriuFieldOpts opts(FieldDescriptor f) {
        return f.getOptions().getExtension(OptsProto.criu);
    }

    private static ByteString last(List<ByteString> l) {
        return l.get(l.size() - 1);
    }

    private static Object cast(FieldDescriptor f, CriuFieldOpts o, Object v, Supplier<ByteString> wire, boolean pretty, boolean hex) {
        hex = hex || o.getHex();
        switch (f.getJavaType()) {
            case MESSAGE:
                return toMap((Message) v, wire, pretty, hex);
            case BYTE_STRING:
                byte[] b = ((ByteString) v).toByteArray();
                return "unix_name".equals(o.getConv()) ? QuotedPrintable.encode(b) : Base64Lines.encode(b);
            case ENUM:
                return ((EnumValueDescriptor) v).getName();
            case BOOLEAN:
                return v;
            case STRING:
                return v;
            case INT:
            case LONG:
                Number n = pyInt(f, v);
                if (!pretty) {
                    return n;
                }
                if (hex) {
                    return FieldStyle.hex(n);
                }
                if (o.getDev()) {
                    return FieldStyle.dev(n.longValue(), o.getOdev());
                }
                if (o.hasFlags()) {
                    List<FieldStyle.Bit> bits = FieldStyle.FLAGS.get(o.getFlags());
                    return bits == null ? FieldStyle.hex(n) : FieldStyle.mapFlags(n.longValue(), bits);
                }
                if (o.hasDict()) {
                    Map<String, Map<Long, String>> dict = FieldStyle.DICTS.get(o.getDict());
                    Map<Long, String> names = dict == null ? null : dict.get(f.getName());
                    String name = names == null ? null : names.get(n.longValue());
                    return name == null ? n : name;
                }
                return n;
            default:
                throw new IllegalArgumentException("field " + f.getFullName() + " has unsupported type " + f.getType());
        }
    }

    /** The value as Python holds it: unsigned 32/64-bit types never negative. */
    static Number pyInt(FieldDescriptor f, Object v) {
        switch (f.getType()) {
            case UINT32:
            case FIXED32:
                return Integer.toUnsignedLong((Integer) v);
            case UINT64:
            case FIXED64:
                long l = (Long) v;
                return l >= 0 ? (Number) l : new BigInteger(Long.toUnsignedString(l));
            case INT32:
            case SINT32:
            case SFIXED32:
                return ((Integer) v).longValue();
            default:
                return (Long) v;
        }
    }

}

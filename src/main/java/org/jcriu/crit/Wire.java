package org.jcriu.crit;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Protobuf wire format decoded straight against the {@link Schema} table, with protobuf-java's
 * parse semantics for proto2 (last value of a scalar wins, message fields merge, packed and
 * unpacked repeated values both accepted, unknown fields and unknown values of closed enums
 * dropped, required fields checked), and the result rendered as {@link PbJson} renders a
 * parsed message. Anything this decoder does not handle (malformed input, groups) throws
 * {@link Unsupported}, and the caller falls back to protobuf-java, which then reports the
 * error in its own words: the fast path never invents an error message.
 */
final class Wire {
    /** Input this decoder leaves to protobuf-java. */
    static final class Unsupported extends RuntimeException {
        Unsupported(String m) {
            super(m, null, false, false);
        }
    }

    /** A decoded message: per field of its schema, a value or a list of values. */
    static final class Msg {
        final Schema.Message type;
        final Object[] values;

        Msg(Schema.Message type) {
            this.type = type;
            this.values = new Object[type.fields.length];
        }

        /** An integer field as an unsigned 32-bit value (0 when unset, as protobuf's getter gives). */
        long u32(String field) {
            Object v = values[type.indexOf(field)];
            return v == null ? 0 : ((Long) v) & 0xffffffffL;
        }

        long u64(String field) {
            Object v = values[type.indexOf(field)];
            return v == null ? 0 : (Long) v;
        }

        boolean bool(String field) {
            Object v = values[type.indexOf(field)];
            return v != null && (Boolean) v;
        }
    }

    private final byte[] b;
    private int pos;

    private Wire(byte[] b) {
        this.b = b;
    }

    static Msg decode(Schema.Message type, byte[] b) {
        Msg m = new Msg(type);
        new Wire(b).merge(m, b.length, 0);
        checkRequired(m);
        return m;
    }

    private void merge(Msg m, int end, int depth) {
        if (depth > 100) {
            throw new Unsupported("nesting too deep");
        }
        Schema.Field[] fields = m.type.fields;
        while (pos < end) {
            long tag = varint(end);
            if (tag > 0xffffffffL || tag >>> 3 == 0) {
                throw new Unsupported("bad tag");
            }
            int wire = (int) (tag & 7);
            int i = m.type.index((int) (tag >>> 3));
            Schema.Field f = i < 0 ? null : fields[i];
            if (f != null && f.repeated && wire == 2 && f.wireType() != 2) {
                // Packed repeated scalars.
                int stop = length(end);
                stop += pos;
                List<Object> l = list(m, i);
                while (pos < stop) {
                    Object v = scalar(f, f.wireType(), stop);
                    if (v != null) {
                        l.add(v);
                    }
                }
                continue;
            }
            if (f == null || wire != f.wireType()) {
                skip(wire, end);
                continue;
            }
            if (f.kind == Schema.MESSAGE) {
                int stop = length(end);
                stop += pos;
                Msg sub;
                if (f.repeated) {
                    sub = new Msg(f.message());
                    list(m, i).add(sub);
                } else {
                    // A message field given twice is merged, as protobuf does.
                    sub = m.values[i] == null ? new Msg(f.message()) : (Msg) m.values[i];
                    m.values[i] = sub;
                }
                merge(sub, stop, depth + 1);
                continue;
            }
            Object v = scalar(f, wire, end);
            if (v == null) {
                continue;
            }
            if (f.repeated) {
                list(m, i).add(v);
            } else {
                m.values[i] = v;
            }
        }
        if (pos != end) {
            throw new Unsupported("truncated");
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Msg m, int i) {
        Object l = m.values[i];
        if (l == null) {
            l = new ArrayList<>();
            m.values[i] = l;
        }
        return (List<Object>) l;
    }

    /** One value: Long for every integer kind (raw bits), Boolean, byte[], Integer for enums; null for an unknown enum value. */
    private Object scalar(Schema.Field f, int wire, int end) {
        switch (wire) {
            case 0 -> {
                long v = varint(end);
                switch (f.kind) {
                    case Schema.BOOL:
                        return v != 0;
                    case Schema.ENUM: {
                        // proto2 enums are closed: an unknown number leaves the field unset.
                        int n = (int) v;
                        return f.enumType().names.containsKey(n) ? (Object) n : null;
                    }
                    case Schema.INT32, Schema.UINT32:
                        return (long) (int) v;
                    case Schema.SINT32: {
                        int n = (int) v;
                        return (long) ((n >>> 1) ^ -(n & 1));
                    }
                    case Schema.SINT64:
                        return (v >>> 1) ^ -(v & 1);
                    default:
                        return v;
                }
            }
            case 1 -> {
                need(8, end);
                long v = 0;
                for (int k = 7; k >= 0; k--) {
                    v = v << 8 | (b[pos + k] & 0xff);
                }
                pos += 8;
                return v;
            }
            case 5 -> {
                need(4, end);
                int v = (b[pos] & 0xff) | (b[pos + 1] & 0xff) << 8 | (b[pos + 2] & 0xff) << 16 | (b[pos + 3] & 0xff) << 24;
                pos += 4;
                return (long) v;
            }
            default -> {
                int len = length(end);
                pos += len;
                return Arrays.copyOfRange(b, pos - len, pos);
            }
        }
    }

    private void skip(int wire, int end) {
        switch (wire) {
            case 0 -> varint(end);
            case 1 -> {
                need(8, end);
                pos += 8;
            }
            case 2 -> {
                int len = length(end);
                pos += len;
            }
            case 5 -> {
                need(4, end);
                pos += 4;
            }
            default -> throw new Unsupported("wire type " + wire);
        }
    }

    private void need(int n, int end) {
        if (end - pos < n) {
            throw new Unsupported("truncated");
        }
    }

    /** A length-delimited field's length, checked against what is left. */
    private int length(int end) {
        int len = (int) varint(end);
        if (len < 0 || len > end - pos) {
            throw new Unsupported("bad length");
        }
        return len;
    }

    private long varint(int end) {
        long v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= end) {
                throw new Unsupported("truncated varint");
            }
            byte x = b[pos++];
            v |= (long) (x & 0x7f) << shift;
            if (x >= 0) {
                // protobuf-java's array decoder (what ImageReader uses) sets bit 63 for any
                // complete ten-byte varint, whatever its last byte: decode the same value.
                return shift == 63 ? v | Long.MIN_VALUE : v;
            }
        }
        throw new Unsupported("malformed varint");
    }

    private static void checkRequired(Msg m) {
        Schema.Field[] fields = m.type.fields;
        for (int i = 0; i < fields.length; i++) {
            Object v = m.values[i];
            if (v == null) {
                if (fields[i].required) {
                    throw new Unsupported("missing required field");
                }
                continue;
            }
            if (fields[i].kind == Schema.MESSAGE) {
                if (v instanceof List<?> l) {
                    for (Object o : l) {
                        checkRequired((Msg) o);
                    }
                } else {
                    checkRequired((Msg) v);
                }
            }
        }
    }

    /** crit's dictionary of a message: what {@link PbJson#toMap} gives for the same bytes. */
    static Map<String, Object> toMap(Msg m, boolean pretty, boolean parentHex) {
        Map<String, Object> d = new LinkedHashMap<>();
        Schema.Field[] fields = m.type.fields;
        for (int i = 0; i < fields.length; i++) {
            Object v = m.values[i];
            if (v == null) {
                continue;
            }
            Schema.Field f = fields[i];
            if (f.repeated) {
                List<?> vs = (List<?>) v;
                if (vs.isEmpty()) {
                    continue;
                }
                List<Object> out = new ArrayList<>(vs.size());
                if (pretty && f.ipadd) {
                    List<Integer> words = new ArrayList<>(vs.size());
                    for (Object o : vs) {
                        words.add((int) (long) (Long) o);
                    }
                    out.add(FieldStyle.ipText(words));
                } else {
                    for (Object o : vs) {
                        out.add(value(f, o, pretty, parentHex));
                    }
                }
                d.put(f.name, out);
            } else {
                d.put(f.name, value(f, v, pretty, parentHex));
            }
        }
        return d;
    }

    private static Object value(Schema.Field f, Object v, boolean pretty, boolean hex) {
        hex = hex || f.hex;
        switch (f.kind) {
            case Schema.MESSAGE:
                return toMap((Msg) v, pretty, hex);
            case Schema.BYTES:
                return f.unixName ? QuotedPrintable.encode((byte[]) v) : Base64Lines.encode((byte[]) v);
            case Schema.STRING: {
                byte[] raw = (byte[]) v;
                String s = new String(raw, StandardCharsets.UTF_8);
                // What does not round-trip is not UTF-8: crit prints Python's repr of the bytes.
                if (s.indexOf('\uFFFD') >= 0 && !Arrays.equals(s.getBytes(StandardCharsets.UTF_8), raw)) {
                    return PyBytes.repr(raw);
                }
                return s;
            }
            case Schema.ENUM:
                return f.enumType().names.get((Integer) v);
            case Schema.BOOL:
                return v;
            case Schema.DOUBLE, Schema.FLOAT:
                throw new Unsupported("floating point field");
            default:
                break;
        }
        long l = (Long) v;
        Number n;
        switch (f.kind) {
            case Schema.UINT32, Schema.FIXED32:
                n = l & 0xffffffffL;
                break;
            case Schema.INT32, Schema.SINT32, Schema.SFIXED32:
                n = (long) (int) l;
                break;
            case Schema.UINT64, Schema.FIXED64:
                n = l >= 0 ? (Number) l : new BigInteger(Long.toUnsignedString(l));
                break;
            default:
                n = l;
        }
        if (!pretty) {
            return n;
        }
        if (hex) {
            return FieldStyle.hex(n);
        }
        if (f.dev) {
            return FieldStyle.dev(n.longValue(), f.odev);
        }
        if (f.flags != null) {
            List<FieldStyle.Bit> bits = FieldStyle.FLAGS.get(f.flags);
            return bits == null ? FieldStyle.hex(n) : FieldStyle.mapFlags(n.longValue(), bits);
        }
        if (f.dict != null) {
            Map<String, Map<Long, String>> dict = FieldStyle.DICTS.get(f.dict);
            Map<Long, String> names = dict == null ? null : dict.get(f.name);
            String name = names == null ? null : names.get(n.longValue());
            return name == null ? n : name;
        }
        return n;
    }
}

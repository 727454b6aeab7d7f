package org.jcriu.crit;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.UninitializedMessageException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jcriu.CriuException;
import org.jcriu.image.Entry;
import org.jcriu.image.Extra;
import org.jcriu.image.ImageFile;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.CriuFieldOpts;
import org.jcriu.image.proto.IpcMsg;

/** A whole image as crit's JSON dictionary ({"magic", "entries"}) and back. */
public final class CritImage {
    private CritImage() {
    }

    /** crit decode / show: every entry, extras as base64 (or a size with {@code nopl}). */
    public static Map<String, Object> load(ImageReader r, boolean pretty, boolean nopl) {
        List<Object> out = new ArrayList<>();
        ImageType t = r.type();
        ImageFile.forEach(r, !nopl, e -> out.add(entryJson(t, e, pretty, nopl)));
        Map<String, Object> img = new LinkedHashMap<>();
        img.put("magic", t.canonical().name());
        img.put("entries", out);
        return img;
    }

    /**
     * The same JSON text as {@code Json.write(load(...), indent)}, built entry by entry so that
     * a large image is never held decoded as a whole.
     */
    public static void write(ImageReader r, boolean pretty, boolean nopl, StringBuilder b) {
        ImageType t = r.type();
        int indent = pretty ? 4 : 0;
        b.append(pretty ? "{\n    \"magic\": " : "{\"magic\": ");
        Json.string(b, t.canonical().name());
        b.append(pretty ? ",\n    \"entries\": [" : ", \"entries\": [");
        int before = b.length();
        ImageFile.forEach(r, !nopl, e -> {
            if (b.length() != before) {
                b.append(pretty ? "," : ", ");
            }
            if (pretty) {
                b.append("\n        ");
            }
            Json.write(b, entryJson(t, e, pretty, nopl), indent, 2);
        });
        if (pretty && b.length() != before) {
            b.append("\n    ");
        }
        b.append(pretty ? "]\n}" : "]}");
    }

    private static Map<String, Object> entryJson(ImageType t, Entry e, boolean pretty, boolean nopl) {
        Map<String, Object> d = PbJson.toMap(e.message(), pretty);
        if (t.extra() == Extra.GHOST) {
            // The head entry carries the whole contents of an unchunked file, each chunk its bytes.
            if (!nopl && e.extra() != null) {
                d.put("extra", Base64Lines.encode((byte[]) e.extra()));
            }
        } else if (t.extra() != Extra.NONE) {
            d.put("extra", nopl ? "... <" + humanSize(plSize(t.extra(), e)) + ">" : extraJson(e));
        }
        return d;
    }

    private static long plSize(Extra kind, Entry e) {
        if (kind == Extra.IPC_MSG) {
            long n = 0;
            for (Entry.IpcMessage m : e.ipcMessages()) {
                n += m.header().getSerializedSize() + Integer.toUnsignedLong(((IpcMsg) m.header()).getMsize());
            }
            return n;
        }
        return ImageFile.extraSize(kind, e.message());
    }

    private static Object extraJson(Entry e) {
        Object x = e.extra();
        return switch (x) {
            case byte[] b -> Base64Lines.encode(b);
            case Entry.TcpQueues q -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("inq", Base64Lines.encode(q.inq()));
                m.put("outq", Base64Lines.encode(q.outq()));
                yield m;
            }
            case int[] v -> {
                List<Object> l = new ArrayList<>(v.length);
                for (int s : v) {
                    l.add((long) s);
                }
                yield l;
            }
            case List<?> msgs -> {
                List<Object> l = new ArrayList<>();
                for (Object o : msgs) {
                    Entry.IpcMessage m = (Entry.IpcMessage) o;
                    l.add(PbJson.toMap(m.header(), false));
                    l.add(Base64Lines.encode(m.data()));
                }
                yield l;
            }
            default -> throw new IllegalStateException("extra " + x);
        };
    }

    /** crit's human_readable(): 1024-based units, integral values without decimals. */
    static String humanSize(long n) {
        String[] units = {"", "K", "M", "G", "T", "P", "E", "Z"};
        double num = n;
        for (String u : units) {
            if (num < 1024.0) {
                if ((long) num == num) {
                    return (long) num + u + "B";
                }
                return new BigDecimal(num).setScale(1, RoundingMode.HALF_EVEN).toPlainString() + u + "B";
            }
            num /= 1024.0;
        }
        return new BigDecimal(num).setScale(1, RoundingMode.HALF_EVEN).toPlainString() + "YB";
    }

    /** crit encode: the JSON dictionary written as an image (magics, entries, extras). */
    public static void dump(Object json, ImageWriter.Factory out) {
        if (!(json instanceof Map<?, ?> img)) {
            throw new CriuException("image JSON must be an object with \"magic\" and \"entries\"");
        }
        Object magic = img.get("magic");
        ImageType t = magic instanceof String s ? ImageType.byName(s) : null;
        if (t == null || t.isRaw() || t.canonical() != t) {
            throw new CriuException("No handler found for image with magic " + magic);
        }
        if (!(img.get("entries") instanceof List<?> list)) {
            throw new CriuException("image JSON has no \"entries\" list");
        }
        List<Entry> entries = new ArrayList<>(list.size());
        boolean chunked = false;
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof Map<?, ?> d)) {
                throw new CriuException("entry " + i + " is not an object");
            }
            Message proto = i == 0 ? t.firstEntry() : t.entry();
            if (t.extra() == Extra.GHOST && i > 0 && !chunked) {
                break;
            }
            Message m = toMessage(d, proto, "entries[" + i + "]");
            if (t.extra() == Extra.GHOST && i == 0) {
                chunked = ((org.jcriu.image.proto.GhostFileEntry) m).getChunks();
            }
            entries.add(new Entry(m, extraFromJson(t.extra(), d.get("extra"), m, i)));
        }
        try (ImageWriter w = out.open(t)) {
            ImageFile.writeAll(w, entries);
        }
    }

    private static Object extraFromJson(Extra kind, Object x, Message m, int i) {
        if (x == null || kind == Extra.NONE || (x instanceof String s && s.isEmpty()) || (x instanceof List<?> l && l.isEmpty())) {
            return null;
        }
        String where = "entries[" + i + "].extra";
        switch (kind) {
            case TCP_QUEUES -> {
                if (!(x instanceof Map<?, ?> q)) {
                    throw new CriuException(where + " must be an object with inq and outq");
                }
                return new Entry.TcpQueues(Base64Lines.decode(str(q.get("inq"), where)), Base64Lines.decode(str(q.get("outq"), where)));
            }
            case IPC_SEM -> {
                List<?> l = (List<?>) x;
                int nsems = ((org.jcriu.image.proto.IpcSemEntry) m).getNsems();
                if (l.size() != nsems) {
                    throw new CriuException(where + ": Number of semaphores mismatch");
                }
                int[] v = new int[l.size()];
                for (int k = 0; k < v.length; k++) {
                    v[k] = ((Number) l.get(k)).intValue();
                }
                return v;
            }
            case IPC_MSG -> {
                List<?> l = (List<?>) x;
                List<Entry.IpcMessage> msgs = new ArrayList<>();
                for (int k = 0; k + 1 < l.size(); k += 2) {
                    IpcMsg h = (IpcMsg) toMessage((Map<?, ?>) l.get(k), IpcMsg.getDefaultInstance(), where + "[" + k + "]");
                    byte[] data = Base64Lines.decode(str(l.get(k + 1), where));
                    int size = h.getMsize();
                    byte[] cut = java.util.Arrays.copyOf(data, Math.min(size, data.length));
                    msgs.add(new Entry.IpcMessage(h, cut));
                }
                return msgs;
            }
            case IPC_SHM -> {
                byte[] data = Base64Lines.decode(str(x, where));
                long size = ((org.jcriu.image.proto.IpcShmEntry) m).getSize();
                return data.length > size ? java.util.Arrays.copyOf(data, (int) size) : data;
            }
            default -> {
                return Base64Lines.decode(str(x, where));
            }
        }
    }

    private static String str(Object o, String where) {
        if (o instanceof String s) {
            return s;
        }
        throw new CriuException(where + ": expected a base64 string");
    }

    /** pycriu's dict2pb: fields by name, pretty strings accepted for numbers. */
    static Message toMessage(Map<?, ?> d, Message proto, String where) {
        Message.Builder b = proto.newBuilderForType();
        fill(d, b, where);
        try {
            return b.build();
        } catch (UninitializedMessageException e) {
            throw new CriuException(where + ": " + e.getMessage());
        }
    }

    private static void fill(Map<?, ?> d, Message.Builder b, String where) {
        com.google.protobuf.ByteString.Output rawFields = null;
        for (FieldDescriptor f : b.getDescriptorForType().getFields()) {
            if (!d.containsKey(f.getName())) {
                continue;
            }
            Object v = d.get(f.getName());
            String at = where + "." + f.getName();
            if (f.getType() == FieldDescriptor.Type.STRING && hasRawBytes(v)) {
                // Non-UTF-8 strings printed as Python bytes reprs go back as their bytes; they
                // cannot pass through a Java String, so they are merged in wire form.
                rawFields = rawFields == null ? com.google.protobuf.ByteString.newOutput() : rawFields;
                com.google.protobuf.CodedOutputStream c = com.google.protobuf.CodedOutputStream.newInstance(rawFields);
                try {
                    for (Object e : v instanceof List<?> l ? l : List.of(v)) {
                        byte[] raw = e instanceof String s ? PyBytes.unrepr(s) : null;
                        c.writeBytes(f.getNumber(), com.google.protobuf.ByteString.copyFrom(raw != null ? raw
                                : String.valueOf(e).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                    }
                    c.flush();
                } catch (java.io.IOException x) {
                    throw new IllegalStateException(x);
                }
                continue;
            }
            if (f.isRepeated()) {
                if (!(v instanceof List<?> l)) {
                    throw new CriuException(at + ": expected a list");
                }
                CriuFieldOpts o = PbJson.opts(f);
                if (o.getIpadd() && !l.isEmpty() && l.get(0) instanceof String ip) {
                    for (int w : ipWords(ip, at)) {
                        b.addRepeatedField(f, w);
                    }
                    continue;
                }
                for (Object e : l) {
                    if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                        Message.Builder sub = b.newBuilderForField(f);
                        fill(asMap(e, at), sub, at);
                        b.addRepeatedField(f, sub.buildPartial());
                    } else {
                        b.addRepeatedField(f, scalar(f, e, at));
                    }
                }
            } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                Message.Builder sub = b.newBuilderForField(f);
                fill(asMap(v, at), sub, at);
                b.setField(f, sub.buildPartial());
            } else {
                b.setField(f, scalar(f, v, at));
            }
        }
        if (rawFields != null) {
            try {
                b.mergeFrom(rawFields.toByteString());
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new CriuException(where + ": " + e.getMessage());
            }
        }
    }

    private static boolean hasRawBytes(Object v) {
        if (v instanceof String s) {
            return PyBytes.unrepr(s) != null;
        }
        if (v instanceof List<?> l) {
            for (Object e : l) {
                if (e instanceof String s && PyBytes.unrepr(s) != null) {
                    return true;
                }
            }
        }
        return false;
    }

    private static Map<?, ?> asMap(Object v, String at) {
        if (v instanceof Map<?, ?> m) {
            return m;
        }
        throw new CriuException(at + ": expected an object");
    }

    private static Object scalar(FieldDescriptor f, Object v, String at) {
        CriuFieldOpts o = PbJson.opts(f);
        switch (f.getJavaType()) {
            case BYTE_STRING -> {
                if (!(v instanceof String s)) {
                    throw new CriuException(at + ": expected a string");
                }
                return ByteString.copyFrom("unix_name".equals(o.getConv()) ? QuotedPrintable.decode(s) : Base64Lines.decode(s));
            }
            case ENUM -> {
                EnumValueDescriptor e = v instanceof String s ? f.getEnumType().findValueByName(s) : null;
                if (e == null) {
                    throw new CriuException(at + ": unknown enum value " + v);
                }
                return e;
            }
            case BOOLEAN -> {
                return truthy(v);
            }
            case STRING -> {
                return v instanceof String s ? s : String.valueOf(v);
            }
            case INT, LONG -> {
                BigInteger n = v instanceof String s ? intFromString(f, o, s, at) : integer(v, at);
                return fit(f, n, at);
            }
            default -> throw new CriuException(at + ": unsupported field type " + f.getType());
        }
    }

    private static boolean truthy(Object v) {
        return switch (v) {
            case null -> false;
            case Boolean x -> x;
            case Number n -> n.doubleValue() != 0;
            case String s -> !s.isEmpty();
            case List<?> l -> !l.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            default -> true;
        };
    }

    private static BigInteger integer(Object v, String at) {
        return switch (v) {
            case Long l -> BigInteger.valueOf(l);
            case BigInteger b -> b;
            case Boolean x -> x ? BigInteger.ONE : BigInteger.ZERO;
            case BigDecimal d -> d.toBigInteger();
            case null, default -> throw new CriuException(at + ": expected an integer, got " + v);
        };
    }

    private static BigInteger intFromString(FieldDescriptor f, CriuFieldOpts o, String s, String at) {
        if (o.getDev()) {
            String[] p = s.split(":");
            if (p.length != 2) {
                throw new CriuException(at + ": bad device number " + s);
            }
            long major = Long.parseLong(p[0].trim());
            long minor = Long.parseLong(p[1].trim());
            if (o.getOdev()) {
                // glibc makedev()
                long dev = (major & 0xfffL) << 8 | (major & ~0xfffL) << 32 | (minor & 0xffL) | (minor & ~0xffL) << 12;
                return BigInteger.valueOf(dev);
            }
            return BigInteger.valueOf(major << 20 | minor);
        }
        if (o.hasFlags()) {
            List<FieldStyle.Bit> bits = FieldStyle.FLAGS.get(o.getFlags());
            if (bits != null) {
                if (s.isEmpty()) {
                    return BigInteger.ZERO;
                }
                BigInteger sum = BigInteger.ZERO;
                for (String part : s.split("\\|")) {
                    String name = part.strip();
                    FieldStyle.Bit bit = bits.stream().filter(x -> x.name().equals(name)).findFirst().orElse(null);
                    sum = sum.add(bit != null ? BigInteger.valueOf(bit.value()) : pyInt(name, at));
                }
                return sum;
            }
        }
        if (o.hasDict()) {
            Map<String, Map<Long, String>> dict = FieldStyle.DICTS.get(o.getDict());
            Map<Long, String> names = dict == null ? null : dict.get(f.getName());
            if (names != null) {
                for (Map.Entry<Long, String> e : names.entrySet()) {
                    if (e.getValue().equals(s)) {
                        return BigInteger.valueOf(e.getKey());
                    }
                }
            }
        }
        return pyInt(s, at);
    }

    /** Python's int(s, 0): optional sign, 0x/0o/0b prefixes, underscores between digits. */
    static BigInteger pyInt(String s, String at) {
        String t = s.strip();
        boolean neg = false;
        if (t.startsWith("-") || t.startsWith("+")) {
            neg = t.charAt(0) == '-';
            t = t.substring(1);
        }
        int radix = 10;
        String lower = t.toLowerCase(java.util.Locale.ROOT);
        if (lower.startsWith("0x")) {
            radix = 16;
        } else if (lower.startsWith("0o")) {
            radix = 8;
        } else if (lower.startsWith("0b")) {
            radix = 2;
        }
        if (radix != 10) {
            t = t.substring(2);
            if (t.startsWith("_")) {
                t = t.substring(1);
            }
        } else if (t.length() > 1 && t.startsWith("0") && !t.replace("_", "").matches("0+")) {
            throw new CriuException(at + ": invalid literal for int() with base 0: '" + s + "'");
        }
        if (t.isEmpty() || t.startsWith("_") || t.endsWith("_") || t.contains("__")) {
            throw new CriuException(at + ": invalid literal for int() with base 0: '" + s + "'");
        }
        try {
            BigInteger v = new BigInteger(t.replace("_", ""), radix);
            return neg ? v.negate() : v;
        } catch (NumberFormatException e) {
            throw new CriuException(at + ": invalid literal for int() with base 0: '" + s + "'");
        }
    }

    private static Object fit(FieldDescriptor f, BigInteger n, String at) {
        boolean unsigned = switch (f.getType()) {
            case UINT32, FIXED32, UINT64, FIXED64 -> true;
            default -> false;
        };
        int bits = f.getJavaType() == FieldDescriptor.JavaType.INT ? 32 : 64;
        BigInteger min = unsigned ? BigInteger.ZERO : BigInteger.ONE.shiftLeft(bits - 1).negate();
        BigInteger max = unsigned ? BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE) : BigInteger.ONE.shiftLeft(bits - 1).subtract(BigInteger.ONE);
        if (n.compareTo(min) < 0 || n.compareTo(max) > 0) {
            throw new CriuException(at + ": value " + n + " out of range for " + f.getType().name().toLowerCase());
        }
        return bits == 32 ? (Object) n.intValue() : (Object) n.longValue();
    }

    private static int[] ipWords(String ip, String at) {
        byte[] b = ip.contains(":") ? ipv6(ip.strip(), at) : ipv4(ip.strip(), at);
        int[] w = new int[b.length / 4];
        for (int i = 0; i < w.length; i++) {
            w[i] = (b[4 * i] & 0xff) | (b[4 * i + 1] & 0xff) << 8 | (b[4 * i + 2] & 0xff) << 16 | (b[4 * i + 3] & 0xff) << 24;
        }
        return w;
    }

    private static byte[] ipv4(String s, String at) {
        String[] p = s.split("\\.", -1);
        if (p.length != 4) {
            throw new CriuException(at + ": bad IP address " + s);
        }
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            if (!p[i].matches("[0-9]{1,3}") || Integer.parseInt(p[i]) > 255) {
                throw new CriuException(at + ": bad IP address " + s);
            }
            b[i] = (byte) Integer.parseInt(p[i]);
        }
        return b;
    }

    /** IPv6 text to 16 bytes ("::" and a trailing dotted IPv4 part allowed); not InetAddress, which maps ::ffff:a.b.c.d to IPv4. */
    private static byte[] ipv6(String s, String at) {
        int dbl = s.indexOf("::");
        if (dbl != s.lastIndexOf("::")) {
            throw new CriuException(at + ": bad IP address " + s);
        }
        List<Integer> head = groups(dbl < 0 ? s : s.substring(0, dbl), s, at);
        List<Integer> tail = dbl < 0 ? List.of() : groups(s.substring(dbl + 2), s, at);
        int n = head.size() + tail.size();
        if ((dbl < 0 && n != 8) || (dbl >= 0 && n > 7)) {
            throw new CriuException(at + ": bad IP address " + s);
        }
        byte[] b = new byte[16];
        for (int i = 0; i < head.size(); i++) {
            b[2 * i] = (byte) (head.get(i) >> 8);
            b[2 * i + 1] = (byte) (int) head.get(i);
        }
        for (int i = 0; i < tail.size(); i++) {
            int g = 8 - tail.size() + i;
            b[2 * g] = (byte) (tail.get(i) >> 8);
            b[2 * g + 1] = (byte) (int) tail.get(i);
        }
        return b;
    }

    private static List<Integer> groups(String part, String whole, String at) {
        List<Integer> g = new ArrayList<>();
        if (part.isEmpty()) {
            return g;
        }
        String[] p = part.split(":", -1);
        for (int i = 0; i < p.length; i++) {
            if (i == p.length - 1 && p[i].contains(".")) {
                byte[] v4 = ipv4(p[i], at);
                g.add((v4[0] & 0xff) << 8 | (v4[1] & 0xff));
                g.add((v4[2] & 0xff) << 8 | (v4[3] & 0xff));
            } else if (p[i].matches("[0-9a-fA-F]{1,4}")) {
                g.add(Integer.parseInt(p[i], 16));
            } else {
                throw new CriuException(at + ": bad IP address " + whole);
            }
        }
        return g;
    }
}

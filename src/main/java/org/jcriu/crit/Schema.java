package org.jcriu.crit;

import java.util.HashMap;
import java.util.Map;

/**
 * The image messages as a plain table (written by {@link SchemaGen} from
 * the descriptors at build time), read lazily: decoding a core image parses the lines of
 * CoreEntry and what it contains, nothing else, and touches no protobuf class.
 */
final class Schema {
    // Field kinds, as protobuf's FieldDescriptor.Type.
    static final int DOUBLE = 1, FLOAT = 2, INT64 = 3, UINT64 = 4, INT32 = 5, FIXED64 = 6, FIXED32 = 7, BOOL = 8,
            STRING = 9, MESSAGE = 11, BYTES = 12, UINT32 = 13, ENUM = 14, SFIXED32 = 15, SFIXED64 = 16, SINT32 = 17, SINT64 = 18;

    static final class Field {
        final int number;
        final String name;
        final int kind;
        final boolean repeated;
        final boolean required;
        final boolean hex;
        final boolean ipadd;
        final boolean dev;
        final boolean odev;
        final String flags;
        final String dict;
        final boolean unixName;
        /** Message or enum type name. */
        final String ref;
        private Message message;
        private Enum enumType;

        /**
         * The field's message type, parsed on first use: CoreEntry names the register sets
         * of eight architectures, and an x86 image only ever needs one.
         */
        Message message() {
            if (message == null) {
                message = Schema.message(ref);
            }
            return message;
        }

        Enum enumType() {
            if (enumType == null) {
                enumType = Schema.enumType(ref);
            }
            return enumType;
        }

        Field(int number, String name, int kind, String ref, boolean repeated, boolean required, boolean hex, boolean ipadd,
                boolean dev, boolean odev, String flags, String dict, boolean unixName) {
            this.number = number;
            this.name = name;
            this.kind = kind;
            this.ref = ref;
            this.repeated = repeated;
            this.required = required;
            this.hex = hex;
            this.ipadd = ipadd;
            this.dev = dev;
            this.odev = odev;
            this.flags = flags;
            this.dict = dict;
            this.unixName = unixName;
        }

        /** The protobuf wire type values of this field are written with (unpacked). */
        int wireType() {
            switch (kind) {
                case DOUBLE, FIXED64, SFIXED64:
                    return 1;
                case FLOAT, FIXED32, SFIXED32:
                    return 5;
                case STRING, BYTES, MESSAGE:
                    return 2;
                default:
                    return 0;
            }
        }
    }

    static final class Message {
        final String name;
        /** In field-number order, which is the order crit prints them in. */
        final Field[] fields;

        Message(String name, Field[] fields) {
            this.name = name;
            this.fields = fields;
        }

        /** Index of field {@code number} in {@link #fields}, or -1. */
        int index(int number) {
            int lo = 0;
            int hi = fields.length - 1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                int n = fields[mid].number;
                if (n == number) {
                    return mid;
                }
                if (n < number) {
                    lo = mid + 1;
                } else {
                    hi = mid - 1;
                }
            }
            return -1;
        }

        int indexOf(String field) {
            for (int i = 0; i < fields.length; i++) {
                if (fields[i].name.equals(field)) {
                    return i;
                }
            }
            return -1;
        }
    }

    static final class Enum {
        final Map<Integer, String> names;

        Enum(Map<Integer, String> names) {
            this.names = names;
        }
    }

    private static String text;
    private static final Map<String, Message> MESSAGES = new HashMap<>();
    private static final Map<String, Enum> ENUMS = new HashMap<>();

    private Schema() {
    }

    /** True when the table was built into the jar (it always is by Maven; not in a bare javac build). */
    static synchronized boolean available() {
        if (text == null) {
            text = read();
            index();
        }
        return !text.isEmpty();
    }

    /**
     * The table's text: a string constant of {@link SchemaText}, whose class file the build
     * replaces with one holding the table (SchemaGen). A constant costs nothing to read, where
     * a jar resource costs a quarter of a small decode's run time in URL and zip machinery.
     */
    private static String read() {
        return SchemaText.text();
    }

    /** Where each T, M and E line starts, by its first two words. */
    private static final Map<String, Integer> LINES = new HashMap<>();

    private static void index() {
        int pos = 0;
        int n = text.length();
        while (pos < n) {
            int end = text.indexOf('\n', pos);
            if (end < 0) {
                end = n;
            }
            char c = text.charAt(pos);
            if (c != 'F') {
                int sp = text.indexOf(' ', pos + 2);
                LINES.put(text.substring(pos, sp < 0 || sp > end ? end : sp), pos);
            }
            pos = end + 1;
        }
    }

    /** The first and the following entries' message names of image type {@code type}, or null. */
    static synchronized String[] imageType(String type) {
        if (!available()) {
            return null;
        }
        String line = line('T', type);
        if (line == null) {
            return null;
        }
        String[] p = line.split(" ");
        return new String[] {p[2], p[3]};
    }

    static synchronized Message message(String name) {
        Message m = MESSAGES.get(name);
        if (m != null) {
            return m;
        }
        if (!available()) {
            throw new IllegalStateException("no schema");
        }
        Integer at = LINES.get(new StringBuilder(name.length() + 2).append("M ").append(name).toString());
        if (at == null) {
            throw new IllegalStateException("message " + name + " not in the schema");
        }
        int pos = text.indexOf('\n', at) + 1;
        java.util.ArrayList<Field> fields = new java.util.ArrayList<>();
        while (pos < text.length() && text.startsWith("F ", pos)) {
            int end = text.indexOf('\n', pos);
            fields.add(field(text.substring(pos + 2, end).split(" ")));
            pos = end + 1;
        }
        m = new Message(name, fields.toArray(new Field[0]));
        MESSAGES.put(name, m);
        return m;
    }

    private static Field field(String[] p) {
        int number = Integer.parseInt(p[0]);
        String type = p[2];
        String ref = null;
        int colon = type.indexOf(':');
        if (colon >= 0) {
            ref = type.substring(colon + 1);
            type = type.substring(0, colon);
        }
        boolean hex = false;
        boolean ipadd = false;
        boolean dev = false;
        boolean odev = false;
        String flags = null;
        String dict = null;
        boolean unixName = false;
        for (int i = 4; i < p.length; i++) {
            String o = p[i];
            if (o.equals("hex")) {
                hex = true;
            } else if (o.equals("ipadd")) {
                ipadd = true;
            } else if (o.equals("dev")) {
                dev = true;
            } else if (o.equals("odev")) {
                odev = true;
            } else if (o.startsWith("flags=")) {
                flags = o.substring(6);
            } else if (o.startsWith("dict=")) {
                dict = o.substring(5);
            } else if (o.startsWith("conv=")) {
                unixName = o.substring(5).equals("unix_name");
            }
        }
        return new Field(number, p[1], kind(type), ref, p[3].equals("R"), p[3].equals("q"), hex, ipadd, dev, odev, flags, dict, unixName);
    }

    private static int kind(String type) {
        switch (type) {
            case "DOUBLE": return DOUBLE;
            case "FLOAT": return FLOAT;
            case "INT64": return INT64;
            case "UINT64": return UINT64;
            case "INT32": return INT32;
            case "FIXED64": return FIXED64;
            case "FIXED32": return FIXED32;
            case "BOOL": return BOOL;
            case "STRING": return STRING;
            case "MESSAGE": return MESSAGE;
            case "BYTES": return BYTES;
            case "UINT32": return UINT32;
            case "ENUM": return ENUM;
            case "SFIXED32": return SFIXED32;
            case "SFIXED64": return SFIXED64;
            case "SINT32": return SINT32;
            case "SINT64": return SINT64;
            default: throw new IllegalStateException("field type " + type);
        }
    }

    static synchronized Enum enumType(String name) {
        Enum e = ENUMS.get(name);
        if (e != null) {
            return e;
        }
        String line = line('E', name);
        if (line == null) {
            throw new IllegalStateException("enum " + name + " not in the schema");
        }
        Map<Integer, String> names = new HashMap<>();
        String[] p = line.split(" ");
        for (int i = 2; i < p.length; i++) {
            int eq = p[i].indexOf('=');
            // Aliases: the first name of a number is the one protobuf reports.
            names.putIfAbsent(Integer.parseInt(p[i].substring(0, eq)), p[i].substring(eq + 1));
        }
        e = new Enum(names);
        ENUMS.put(name, e);
        return e;
    }

    /** The T or E line whose first two words are {@code kind} and {@code name}, or null. */
    private static String line(char kind, String name) {
        Integer at = LINES.get(new StringBuilder(name.length() + 2).append(kind).append(' ').append(name).toString());
        if (at == null) {
            return null;
        }
        int end = text.indexOf('\n', at);
        return text.substring(at, end < 0 ? text.length() : end);
    }
}

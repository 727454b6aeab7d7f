package org.jcriu.crit;

import java.util.Map;
import org.jcriu.image.Extra;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;

/**
 * crit decode and show by the {@link Schema} table and {@link Wire}, without protobuf-java: the
 * same text as {@link CritImage#write}, at a fraction of the start-up cost (no descriptors
 * built, no generated classes loaded). Images it does not cover (IPC payloads) and any input
 * it finds malformed throw {@link Wire.Unsupported}; the caller then runs CritImage on the
 * same bytes, which gives the output or the error.
 */
final class DirectImage {
    private DirectImage() {
    }

    static void write(ImageReader r, boolean pretty, boolean nopl, StringBuilder b) {
        ImageType t = r.type();
        Extra extra = t.extra();
        if (t.isRaw() || extra == Extra.IPC_MSG || extra == Extra.IPC_SEM || extra == Extra.IPC_SHM) {
            throw new Wire.Unsupported(t.name());
        }
        String[] names = Schema.imageType(t.name());
        if (names == null) {
            throw new Wire.Unsupported(t.name());
        }
        Schema.Message first = Schema.message(names[0]);
        Schema.Message next = Schema.message(names[1]);
        int indent = pretty ? 4 : 0;
        b.append(pretty ? "{\n    \"magic\": " : "{\"magic\": ");
        Json.string(b, t.canonical().name());
        b.append(pretty ? ",\n    \"entries\": [" : ", \"entries\": [");
        int before = b.length();
        boolean chunked = false;
        for (int i = 0;; i++) {
            byte[] payload = r.readPayload();
            if (payload == null) {
                if (i == 0 && extra == Extra.GHOST) {
                    throw new Wire.Unsupported("ghost file without its entry");
                }
                break;
            }
            Wire.Msg m = Wire.decode(i == 0 ? first : next, payload);
            Map<String, Object> d = Wire.toMap(m, pretty, false);
            if (extra == Extra.GHOST) {
                if (i == 0) {
                    chunked = m.bool("chunks");
                    if (!chunked) {
                        // An unchunked ghost file: its contents follow the entry up to the end.
                        byte[] rest = nopl ? null : r.readRest();
                        if (rest != null) {
                            d.put("extra", Base64Lines.encode(rest));
                        }
                        append(b, d, pretty, indent, before);
                        break;
                    }
                } else {
                    byte[] x = bytes(r, m.u64("len"), !nopl);
                    if (x != null) {
                        d.put("extra", Base64Lines.encode(x));
                    }
                }
            } else if (extra != Extra.NONE) {
                d.put("extra", extraJson(r, extra, m, nopl));
            }
            append(b, d, pretty, indent, before);
        }
        if (pretty && b.length() != before) {
            b.append("\n    ");
        }
        b.append(pretty ? "]\n}" : "]}");
    }

    private static void append(StringBuilder b, Map<String, Object> d, boolean pretty, int indent, int before) {
        if (b.length() != before) {
            b.append(pretty ? "," : ", ");
        }
        if (pretty) {
            b.append("\n        ");
        }
        Json.write(b, d, indent, 2);
    }

    private static Object extraJson(ImageReader r, Extra kind, Wire.Msg m, boolean nopl) {
        switch (kind) {
            case PIPE_DATA -> {
                return payload(r, m.u32("bytes"), nopl);
            }
            case SK_QUEUE -> {
                return payload(r, m.u32("length"), nopl);
            }
            case BPFMAP_DATA -> {
                return payload(r, m.u32("keys_bytes") + m.u32("values_bytes"), nopl);
            }
            case TCP_QUEUES -> {
                long in = m.u32("inq_len");
                long out = m.u32("outq_len");
                if (nopl) {
                    bytes(r, in, false);
                    bytes(r, out, false);
                    return "... <" + CritImage.humanSize(in + out) + ">";
                }
                Map<String, Object> q = new java.util.LinkedHashMap<>();
                q.put("inq", Base64Lines.encode(bytes(r, in, true)));
                q.put("outq", Base64Lines.encode(bytes(r, out, true)));
                return q;
            }
            default -> throw new Wire.Unsupported(kind.name());
        }
    }

    private static Object payload(ImageReader r, long n, boolean nopl) {
        byte[] x = bytes(r, n, !nopl);
        return nopl ? "... <" + CritImage.humanSize(n) + ">" : Base64Lines.encode(x);
    }

    private static byte[] bytes(ImageReader r, long n, boolean keep) {
        if (n < 0 || n > Integer.MAX_VALUE - 8) {
            throw new Wire.Unsupported("extra payload too large");
        }
        if (!keep) {
            r.skip(n);
            return null;
        }
        return r.readRaw((int) n);
    }

}

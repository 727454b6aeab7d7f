package org.jcriu.image;

import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.List;
import org.jcriu.image.proto.BpfmapDataEntry;
import org.jcriu.image.proto.GhostChunkEntry;
import org.jcriu.image.proto.GhostFileEntry;
import org.jcriu.image.proto.IpcMsg;
import org.jcriu.image.proto.IpcMsgEntry;
import org.jcriu.image.proto.IpcSemEntry;
import org.jcriu.image.proto.IpcShmEntry;
import org.jcriu.image.proto.PipeDataEntry;
import org.jcriu.image.proto.SkPacketEntry;
import org.jcriu.image.proto.TcpStreamEntry;

/**
 * Whole-file reading and writing of entries together with their extra payloads, driven by
 * {@link ImageType#extra()}. Used by crit and by tests; dump and restore code usually streams
 * with {@link ImageReader} directly.
 */
public final class ImageFile {
    private ImageFile() {
    }

    /** Every entry of an opened image, extras included (or skipped when {@code withExtra} is false). */
    public static List<Entry> readAll(ImageReader r, boolean withExtra) {
        List<Entry> out = new ArrayList<>();
        forEach(r, withExtra, out::add);
        return out;
    }

    /** Like {@link #readAll} one entry at a time, for images too large to hold decoded. */
    public static void forEach(ImageReader r, boolean withExtra, java.util.function.Consumer<Entry> sink) {
        ImageType t = r.type();
        if (t.isRaw()) {
            throw new ImageException(r.name(), r.offset(), t + " is a raw image without entries");
        }
        if (t.extra() == Extra.GHOST) {
            readGhost(r, withExtra, sink);
            return;
        }
        Message m = r.read(t.firstEntry().getParserForType());
        while (m != null) {
            Object extra = t.extra() == Extra.NONE ? null : readExtra(r, t.extra(), m, withExtra);
            sink.accept(new Entry(m, extra));
            m = r.read(t.entry().getParserForType());
        }
    }

    /** The size in bytes of the extra payload that follows {@code m} (for summaries such as crit's --nopl). */
    public static long extraSize(Extra kind, Message m) {
        return switch (kind) {
            case NONE, GHOST, IPC_MSG -> 0;
            case PIPE_DATA -> Integer.toUnsignedLong(((PipeDataEntry) m).getBytes());
            case SK_QUEUE -> Integer.toUnsignedLong(((SkPacketEntry) m).getLength());
            case TCP_QUEUES -> Integer.toUnsignedLong(((TcpStreamEntry) m).getInqLen()) + Integer.toUnsignedLong(((TcpStreamEntry) m).getOutqLen());
            case IPC_SHM -> ((IpcShmEntry) m).getInPagemaps() ? 0 : ((IpcShmEntry) m).getSize();
            case IPC_SEM -> 2L * Integer.toUnsignedLong(((IpcSemEntry) m).getNsems());
            case BPFMAP_DATA -> Integer.toUnsignedLong(((BpfmapDataEntry) m).getKeysBytes()) + Integer.toUnsignedLong(((BpfmapDataEntry) m).getValuesBytes());
        };
    }

    private static Object readExtra(ImageReader r, Extra kind, Message m, boolean keep) {
        switch (kind) {
            case PIPE_DATA, SK_QUEUE, BPFMAP_DATA -> {
                return bytes(r, extraSize(kind, m), keep);
            }
            case TCP_QUEUES -> {
                TcpStreamEntry e = (TcpStreamEntry) m;
                byte[] in = bytes(r, Integer.toUnsignedLong(e.getInqLen()), keep);
                byte[] outq = bytes(r, Integer.toUnsignedLong(e.getOutqLen()), keep);
                return keep ? new Entry.TcpQueues(in, outq) : null;
            }
            case IPC_SHM -> {
                long size = extraSize(kind, m);
                byte[] b = bytes(r, size, keep);
                r.skip(pad(size, 4) - size);
                return b;
            }
            case IPC_SEM -> {
                long size = extraSize(kind, m);
                byte[] b = bytes(r, size, true);
                r.skip(pad(size, 8) - size);
                int[] v = new int[b.length / 2];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (b[2 * i] & 0xff) | (b[2 * i + 1] & 0xff) << 8;
                }
                return v;
            }
            case IPC_MSG -> {
                List<Entry.IpcMessage> msgs = new ArrayList<>();
                int n = ((IpcMsgEntry) m).getQnum();
                for (int i = 0; i < n; i++) {
                    IpcMsg h = r.readOne(IpcMsg.parser());
                    long size = Integer.toUnsignedLong(h.getMsize());
                    byte[] b = bytes(r, size, keep);
                    r.skip(pad(size, 8) - size);
                    msgs.add(new Entry.IpcMessage(h, b));
                }
                return msgs;
            }
            default -> throw new IllegalArgumentException(kind.toString());
        }
    }

    private static void readGhost(ImageReader r, boolean keep, java.util.function.Consumer<Entry> out) {
        GhostFileEntry g = r.readOne(GhostFileEntry.parser());
        if (!g.getChunks()) {
            out.accept(new Entry(g, keep ? r.readRest() : null));
            return;
        }
        out.accept(new Entry(g));
        GhostChunkEntry c;
        while ((c = r.read(GhostChunkEntry.parser())) != null) {
            out.accept(new Entry(c, bytes(r, c.getLen(), keep)));
        }
    }

    private static byte[] bytes(ImageReader r, long n, boolean keep) {
        if (n < 0 || n > Integer.MAX_VALUE - 8) {
            throw new ImageException(r.name(), r.offset(), "extra payload of " + Long.toUnsignedString(n) + " bytes is too large");
        }
        if (!keep) {
            r.skip(n);
            return null;
        }
        return r.readRaw((int) n);
    }

    static long pad(long n, int to) {
        return (n + to - 1) / to * to;
    }

    /** Writes entries with their extras in the layout {@link #readAll} reads. */
    public static void writeAll(ImageWriter w, List<Entry> entries) {
        Extra kind = w.type().extra();
        w.touch();
        for (Entry e : entries) {
            w.write(e.message());
            Object x = e.extra();
            if (x == null) {
                continue;
            }
            switch (kind) {
                case IPC_SEM -> {
                    int[] v = (int[]) x;
                    byte[] b = new byte[(int) pad(2L * v.length, 8)];
                    for (int i = 0; i < v.length; i++) {
                        b[2 * i] = (byte) v[i];
                        b[2 * i + 1] = (byte) (v[i] >>> 8);
                    }
                    w.writeRaw(b);
                }
                case IPC_MSG -> {
                    for (Entry.IpcMessage m : e.ipcMessages()) {
                        w.write(m.header());
                        w.writeRaw(m.data());
                        w.writeRaw(new byte[(int) (pad(m.data().length, 8) - m.data().length)]);
                    }
                }
                case TCP_QUEUES -> {
                    Entry.TcpQueues q = (Entry.TcpQueues) x;
                    w.writeRaw(q.inq());
                    w.writeRaw(q.outq());
                }
                case IPC_SHM -> {
                    byte[] b = (byte[]) x;
                    w.writeRaw(b);
                    w.writeRaw(new byte[(int) (pad(b.length, 4) - b.length)]);
                }
                default -> w.writeRaw((byte[]) x);
            }
        }
    }
}

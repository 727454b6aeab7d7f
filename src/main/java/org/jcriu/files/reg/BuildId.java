package org.jcriu.files.reg;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.jcriu.CriuException;

/**
 * The GNU build-id of an ELF file (its NT_GNU_BUILD_ID note), which CRIU records for regular
 * files (reg_file_entry.build_id, as little-endian 32-bit words) so that restore can tell the
 * same binary from another one at the same path. Dump and restore both read it here.
 */
public final class BuildId {
    private static final int PT_NOTE = 4, NT_GNU_BUILD_ID = 3;

    private BuildId() {}

    /** The build-id of a 64-bit little-endian ELF file, from its PT_NOTE segments; null if it is not one or has none. */
    public static byte[] of(Path p) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ByteBuffer eh = read(ch, 0, 64);
            if (eh == null || eh.getInt(0) != 0x464c457f || eh.get(4) != 2 || eh.get(5) != 1) return null;
            long phoff = eh.getLong(32);
            int phentsize = eh.getShort(54) & 0xffff, phnum = eh.getShort(56) & 0xffff;
            for (int i = 0; i < phnum; i++) {
                ByteBuffer ph = read(ch, phoff + (long) i * phentsize, 56);
                if (ph == null || ph.getInt(0) != PT_NOTE) continue;
                long off = ph.getLong(8), len = Math.min(ph.getLong(32), 1 << 16);
                ByteBuffer n = read(ch, off, (int) len);
                if (n == null) continue;
                int pos = 0;
                while (pos + 12 <= len) {
                    int namesz = n.getInt(pos), descsz = n.getInt(pos + 4), type = n.getInt(pos + 8);
                    int name = pos + 12, desc = name + ((namesz + 3) & ~3);
                    if (namesz < 0 || descsz < 0 || desc + descsz > len) break;
                    if (type == NT_GNU_BUILD_ID && namesz == 4 && n.get(name) == 'G' && n.get(name + 1) == 'N'
                            && n.get(name + 2) == 'U') {
                        byte[] id = new byte[descsz];
                        n.get(desc, id);
                        return id;
                    }
                    pos = desc + ((descsz + 3) & ~3);
                }
            }
            return null;
        } catch (IOException e) {
            throw new CriuException("Can't read " + p + ": " + e.getMessage(), e);
        }
    }

    /** The build-id as CRIU stores it: little-endian 32-bit words (a 20-byte SHA-1 id is 5 words). */
    public static List<Integer> words(byte[] id) {
        ByteBuffer b = ByteBuffer.wrap(java.util.Arrays.copyOf(id, (id.length + 3) & ~3)).order(ByteOrder.LITTLE_ENDIAN);
        List<Integer> w = new ArrayList<>();
        while (b.hasRemaining()) w.add(b.getInt());
        return w;
    }

    private static ByteBuffer read(FileChannel ch, long off, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, off + b.position()) < 0) return null;
        }
        return b.flip();
    }
}

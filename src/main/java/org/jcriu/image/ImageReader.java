package org.jcriu.image;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.ExtensionRegistryLite;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Sequential reader of one image file: the magics are checked on open, then entries (u32 size +
 * protobuf payload) and raw extra bytes are read in order. A file that ends exactly before an
 * entry's size word ends cleanly ({@link #read} returns null); a file that ends anywhere else,
 * a payload that does not decode, or a size larger than what is left all fail with an
 * {@link ImageException} naming the file and the byte offset of the entry.
 */
public final class ImageReader implements AutoCloseable {
    /**
     * Upper bound for an entry read from a stream of unknown length. Real entries are far
     * smaller (an mm_entry with 10,000 VMAs is under 1 MiB); anything bigger is corruption,
     * and is refused before any allocation.
     */
    public static final int MAX_STREAM_ENTRY = 256 << 20;

    private final String name;
    private final InputStream in;
    private final long length;
    private ImageType type;
    private long offset;
    private int entries;

    private ImageReader(String name, InputStream in, long length) {
        this.name = name;
        this.in = in;
        this.length = length;
    }

    /** Opens {@code file} and checks that it is an image of {@code type} (raw types: no check). */
    public static ImageReader open(Path file, ImageType type) {
        ImageReader r = new ImageReader(file.toString(), openFile(file), sizeOf(file));
        try {
            r.checkMagic(type);
            return r;
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
    }

    /**
     * Opens {@code file} and finds its type from its magic, as crit does: an optional common or
     * service head magic, then the type magic. Raw files have no magic and are refused.
     */
    public static ImageReader probe(Path file) {
        ImageReader r = new ImageReader(file.toString(), openFile(file), sizeOf(file));
        try {
            r.detect();
            return r;
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
    }

    /** Like {@link #probe(Path)} for a stream (e.g. stdin); {@code length} is -1 when unknown. */
    public static ImageReader probe(String name, InputStream in, long length) {
        ImageReader r = new ImageReader(name, in instanceof BufferedInputStream ? in : new BufferedInputStream(in, 1 << 16), length);
        r.detect();
        return r;
    }

    private static InputStream openFile(Path file) {
        try {
            return new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        } catch (NoSuchFileException e) {
            throw new ImageException(file.toString(), -1, "no such image file");
        } catch (IOException e) {
            throw new ImageException(file.toString(), -1, "cannot open: " + e.getMessage(), e);
        }
    }

    private static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    private void checkMagic(ImageType expected) {
        type = expected;
        if (expected.isRaw()) {
            return;
        }
        if (expected.head() != Head.NONE) {
            int head = readU32("head magic");
            if (head == expected.magic()) {
                // A V1 image set (CRIU before 1.5-ish, inventory img_version 1): no head magics.
                return;
            }
            if (head != expected.head().magic()) {
                throw new ImageException(name, 0, String.format("bad head magic %#x, expected %#x (%s)", head, expected.head().magic(), expected));
            }
        }
        long at = offset;
        int magic = readU32("magic");
        if (magic != expected.magic()) {
            throw new ImageException(name, at, String.format("bad magic %#x, expected %#x (%s)", magic, expected.magic(), expected));
        }
    }

    private void detect() {
        int magic = readU32("magic");
        Head head = Head.NONE;
        if (magic == Head.IMG_COMMON_MAGIC || magic == Head.IMG_SERVICE_MAGIC) {
            head = magic == Head.IMG_COMMON_MAGIC ? Head.COMMON : Head.SERVICE;
            magic = readU32("magic");
        }
        ImageType t = ImageType.byMagic(magic);
        if (t == null) {
            throw new UnknownMagicException(name, offset - 4, magic);
        }
        // A bare type magic is how every file of a V1 image set (img_version 1) starts; a head
        // magic of the wrong kind is damage.
        if (t.head() != head && head != Head.NONE) {
            throw new ImageException(name, 0, String.format("%s image with %s head magic", t, head == Head.NONE ? "no" : head.name().toLowerCase()));
        }
        type = t;
    }

    /** The type the file was opened or detected as. */
    public ImageType type() {
        return type;
    }

    public String name() {
        return name;
    }

    /** Byte offset of the next read from the start of the file. */
    public long offset() {
        return offset;
    }

    /** Number of entries read so far. */
    public int entries() {
        return entries;
    }

    /** The next entry, or null at a clean end of file. */
    public <T> T read(Parser<T> parser) {
        long at = offset;
        int size = readSize();
        if (size < 0) {
            return null;
        }
        byte[] payload = readBytes(size, at, "entry payload");
        try {
            T m = parser.parseFrom(CodedInputStream.newInstance(payload), ExtensionRegistryLite.getEmptyRegistry());
            entries++;
            return m;
        } catch (InvalidProtocolBufferException e) {
            throw new ImageException(name, at, "undecodable entry #" + entries + " of " + size + " bytes (" + e.getMessage() + ")", e);
        }
    }

    /** Exactly one entry: fails when the file has none. */
    public <T> T readOne(Parser<T> parser) {
        long at = offset;
        T m = read(parser);
        if (m == null) {
            throw new ImageException(name, at, "missing entry");
        }
        return m;
    }

    /** The next entry's payload without decoding it, or null at a clean end of file. */
    public byte[] readPayload() {
        long at = offset;
        int size = readSize();
        if (size < 0) {
            return null;
        }
        byte[] b = readBytes(size, at, "entry payload");
        entries++;
        return b;
    }

    /** Exactly {@code n} raw bytes (an entry's extra payload). */
    public byte[] readRaw(int n) {
        if (n < 0) {
            throw new ImageException(name, offset, "negative raw length " + n);
        }
        return readBytes(n, offset, "raw data");
    }

    /** Skips exactly {@code n} bytes. */
    public void skip(long n) {
        long at = offset;
        try {
            long left = n;
            while (left > 0) {
                long k = in.skip(left);
                if (k <= 0) {
                    if (in.read() < 0) {
                        throw new ImageException(name, at, "short read: " + (n - left) + " of " + n + " bytes to skip");
                    }
                    k = 1;
                }
                left -= k;
                offset += k;
            }
        } catch (IOException e) {
            throw new ImageException(name, offset, "read failed: " + e.getMessage(), e);
        }
    }

    /**
     * Skips one entry by its size word alone, without reading any extra payload and without
     * failing when the size runs past the end of the file: how crit's "info" counts entries.
     * Returns false at a clean end of file.
     */
    public boolean skipEntryLoosely() {
        long at = offset;
        byte[] b = new byte[4];
        int n = fill(b, 0, 4);
        if (n == 0) {
            return false;
        }
        if (n < 4) {
            throw new ImageException(name, at, "short read: " + n + " of 4 bytes of an entry size");
        }
        long left = le32(b) & 0xffffffffL;
        try {
            while (left > 0) {
                long k = in.skip(left);
                if (k <= 0) {
                    if (in.read() < 0) {
                        break;
                    }
                    k = 1;
                }
                left -= k;
                offset += k;
            }
        } catch (IOException e) {
            throw new ImageException(name, offset, "read failed: " + e.getMessage(), e);
        }
        return true;
    }

    /** The rest of the file (ghost file contents). */
    public byte[] readRest() {
        long at = offset;
        try {
            if (length >= 0 && length - offset > Integer.MAX_VALUE - 8) {
                throw new ImageException(name, at, "remaining " + (length - offset) + " bytes do not fit in memory");
            }
            byte[] b = in.readAllBytes();
            offset += b.length;
            return b;
        } catch (IOException e) {
            throw new ImageException(name, at, "read failed: " + e.getMessage(), e);
        }
    }

    /** True when no byte is left. */
    public boolean atEnd() {
        try {
            in.mark(1);
            int b = in.read();
            if (b < 0) {
                return true;
            }
            in.reset();
            return false;
        } catch (IOException e) {
            throw new ImageException(name, offset, "read failed: " + e.getMessage(), e);
        }
    }

    /** A u32 entry size, or -1 at a clean end of file. */
    private int readSize() {
        long at = offset;
        byte[] b = new byte[4];
        int n = fill(b, 0, 4);
        if (n == 0) {
            return -1;
        }
        if (n < 4) {
            throw new ImageException(name, at, "short read: " + n + " of 4 bytes of an entry size");
        }
        long size = le32(b) & 0xffffffffL;
        long left = length >= 0 ? length - offset : -1;
        if (size > MAX_STREAM_ENTRY) {
            throw new ImageException(name, at, "entry size " + size + " exceeds "
                    + (left >= 0 ? "the " + left + " bytes left" : "the limit of " + MAX_STREAM_ENTRY));
        }
        if (left >= 0 && size > left) {
            throw new ImageException(name, at, "short read: " + left + " of " + size + " bytes of entry payload");
        }
        return (int) size;
    }

    private int readU32(String what) {
        long at = offset;
        byte[] b = new byte[4];
        int n = fill(b, 0, 4);
        if (n < 4) {
            throw new ImageException(name, at, "short read: " + n + " of 4 bytes of the " + what);
        }
        return le32(b);
    }

    private byte[] readBytes(int n, long at, String what) {
        if (length >= 0 && n > length - offset) {
            throw new ImageException(name, at, "short read: " + (length - offset) + " of " + n + " bytes of " + what);
        }
        // Grow in steps so that a lying size on a stream cannot make us allocate it up front.
        byte[] b = new byte[Math.min(n, 1 << 20)];
        int got = 0;
        while (got < n) {
            if (got == b.length) {
                b = java.util.Arrays.copyOf(b, (int) Math.min((long) n, 2L * b.length));
            }
            int k = fill(b, got, b.length - got);
            got += k;
            if (got < b.length) {
                throw new ImageException(name, at, "short read: " + got + " of " + n + " bytes of " + what);
            }
        }
        return b;
    }

    private int fill(byte[] b, int off, int len) {
        try {
            int n = in.readNBytes(b, off, len);
            offset += n;
            return n;
        } catch (IOException e) {
            throw new ImageException(name, offset, "read failed: " + e.getMessage(), e);
        }
    }

    static int le32(byte[] b) {
        return (b[0] & 0xff) | (b[1] & 0xff) << 8 | (b[2] & 0xff) << 16 | (b[3] & 0xff) << 24;
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            // Read-only: nothing to lose.
        }
    }
}

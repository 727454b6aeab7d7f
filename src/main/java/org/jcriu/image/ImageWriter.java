package org.jcriu.image;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;

/**
 * Writes one image file: head and type magics, then entries (u32 size + payload) and raw
 * extra bytes. Like CRIU's dump-side images it is lazy: the file is created (mode 0644,
 * truncated) by the first write, and closing a writer that wrote nothing removes any stale
 * file of that name, so that a restore does not read data from an older dump.
 */
public final class ImageWriter implements AutoCloseable {
    private final Path file;
    private final ImageType type;
    private OutputStream out;
    private long offset;
    private boolean closed;

    ImageWriter(Path file, ImageType type) {
        this.file = file;
        this.type = type;
    }

    /** Opens the writer for a type once it is known (crit's encode learns it from the JSON). */
    @FunctionalInterface
    public interface Factory {
        ImageWriter open(ImageType type);
    }

    /** A writer onto an already open stream (crit's encode to stdout); closing closes the stream. */
    public static ImageWriter to(String name, OutputStream stream, ImageType type) {
        ImageWriter w = new ImageWriter(Path.of(name), type);
        w.out = stream instanceof BufferedOutputStream ? stream : new BufferedOutputStream(stream, 1 << 16);
        w.writeMagics();
        return w;
    }

    /** A writer for {@code file}; nothing touches the disk before the first write. */
    public static ImageWriter create(Path file, ImageType type) {
        return new ImageWriter(file, type);
    }

    /** Writes the magics and creates the file now (for an image that must exist even empty). */
    public ImageWriter touch() {
        ensureOpen();
        return this;
    }

    /** One entry: its size as u32, then the payload. */
    public void write(MessageLite m) {
        ensureOpen();
        int size = m.getSerializedSize();
        byte[] b = new byte[4 + size];
        putLe32(b, 0, size);
        CodedOutputStream c = CodedOutputStream.newInstance(b, 4, size);
        try {
            m.writeTo(c);
            c.checkNoSpaceLeft();
        } catch (IOException e) {
            throw new ImageException(file.toString(), offset, "cannot serialise " + m.getClass().getSimpleName(), e);
        }
        put(b, 0, b.length);
    }

    /** Raw bytes after an entry (pipe data, socket queues, ...). */
    public void writeRaw(byte[] b) {
        writeRaw(b, 0, b.length);
    }

    public void writeRaw(byte[] b, int off, int len) {
        ensureOpen();
        put(b, off, len);
    }

    /** Bytes written so far, magics included. */
    public long offset() {
        return offset;
    }

    public Path path() {
        return file;
    }

    public ImageType type() {
        return type;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(file + " is closed");
        }
        if (out != null) {
            return;
        }
        try {
            out = new BufferedOutputStream(Channels.newOutputStream(Files.newByteChannel(file,
                    EnumSet.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")))), 1 << 16);
        } catch (IOException e) {
            throw new ImageException(file.toString(), -1, "cannot create: " + e.getMessage(), e);
        }
        writeMagics();
    }

    private void writeMagics() {
        if (type.isRaw()) {
            return;
        }
        byte[] m = new byte[8];
        int n = 0;
        if (type.head().magic() != 0) {
            putLe32(m, 0, type.head().magic());
            n = 4;
        }
        putLe32(m, n, type.magic());
        put(m, 0, n + 4);
    }

    private void put(byte[] b, int off, int len) {
        try {
            out.write(b, off, len);
            offset += len;
        } catch (IOException e) {
            throw new ImageException(file.toString(), offset, "write failed: " + e.getMessage(), e);
        }
    }

    static void putLe32(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }

    /** Flushes and closes; a writer that never wrote removes the file instead. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (out != null) {
                out.close();
            } else {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new ImageException(file.toString(), offset, "close failed: " + e.getMessage(), e);
        }
    }
}

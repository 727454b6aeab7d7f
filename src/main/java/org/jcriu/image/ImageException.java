package org.jcriu.image;

import org.jcriu.CriuException;

/**
 * An image file that cannot be read or written: the message names the file and the byte
 * offset (offset -1: the failure concerns the whole file, e.g. it is missing).
 */
public class ImageException extends CriuException {
    private final String file;
    private final long offset;

    public ImageException(String file, long offset, String what) {
        this(file, offset, what, null);
    }

    public ImageException(String file, long offset, String what, Throwable cause) {
        super(offset < 0 ? file + ": " + what : file + ": " + what + " at byte " + offset, cause);
        this.file = file;
        this.offset = offset;
    }

    public String file() {
        return file;
    }

    public long offset() {
        return offset;
    }
}

package org.jcriu.image;

/** A file whose magic is no CRIU image's (raw data such as pages-N.img, or not an image at all). */
public final class UnknownMagicException extends ImageException {
    private final int magic;

    public UnknownMagicException(String file, long offset, int magic) {
        super(file, offset, String.format("unknown magic %#x", magic));
        this.magic = magic;
    }

    public int magic() {
        return magic;
    }
}

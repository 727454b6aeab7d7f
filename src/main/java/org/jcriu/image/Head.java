package org.jcriu.image;

/**
 * What precedes the type magic in an image file. CRIU 4.x images (version V1_1) start with a
 * common or service magic so that a tool can tell CRIU files from other data, except
 * inventory.img, whose bare magic is read before the image version is even known.
 */
public enum Head {
    /** IMG_COMMON_MAGIC then the type magic. */
    COMMON,
    /** IMG_SERVICE_MAGIC then the type magic: stats-* and irmap-cache, files that are not part of the process state. */
    SERVICE,
    /** The type magic alone (inventory.img). */
    NONE,
    /** No magic at all: raw data such as pages-N.img or iproute2 dumps. */
    RAW;

    public static final int IMG_COMMON_MAGIC = 0x54564319;
    public static final int IMG_SERVICE_MAGIC = 0x55105940;
    public static final int IMAGES_V1 = 1;
    public static final int IMAGES_V1_1 = 2;

    /** The u32 written before the type magic, or 0 when there is none. */
    public int magic() {
        return switch (this) {
            case COMMON -> IMG_COMMON_MAGIC;
            case SERVICE -> IMG_SERVICE_MAGIC;
            case NONE, RAW -> 0;
        };
    }
}

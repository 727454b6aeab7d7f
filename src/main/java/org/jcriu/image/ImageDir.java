package org.jcriu.image;

import java.nio.file.Files;
import java.nio.file.Path;

/** The images directory of one dump: names files after {@link ImageType} patterns. */
public final class ImageDir {
    private final Path dir;

    public ImageDir(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    public Path path(ImageType t, Object... nameArgs) {
        return dir.resolve(t.fileName(nameArgs));
    }

    public boolean exists(ImageType t, Object... nameArgs) {
        return Files.exists(path(t, nameArgs));
    }

    /** A lazy writer: the file appears with its first entry (see {@link ImageWriter}). */
    public ImageWriter create(ImageType t, Object... nameArgs) {
        return ImageWriter.create(path(t, nameArgs), t);
    }

    /** Opens an image that must exist; the exception names the missing file. */
    public ImageReader open(ImageType t, Object... nameArgs) {
        return ImageReader.open(path(t, nameArgs), t);
    }

    /** Opens an image, or returns null when it does not exist (CRIU treats that as empty). */
    public ImageReader openOptional(ImageType t, Object... nameArgs) {
        Path p = path(t, nameArgs);
        if (!Files.exists(p)) {
            return null;
        }
        return ImageReader.open(p, t);
    }

    /** The parent dump of an incremental chain ({@code parent} symlink), or null. */
    public ImageDir parent() {
        Path p = dir.resolve("parent");
        return Files.isDirectory(p) ? new ImageDir(p) : null;
    }
}

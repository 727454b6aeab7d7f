package org.jcriu.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;

/**
 * Images as tests read them, and change them in place to make a restore meet what a dump would
 * rarely write (a pending signal, a VMA kind jcriu refuses, a missing directory).
 */
public final class Images {
    private Images() {}

    /** The single entry of image {@code t} in {@code dir} (an error unless there is exactly one). */
    public static <T> T one(Path dir, ImageType t, Parser<T> parser, Object... nameArgs) {
        return one(new ImageDir(dir), t, parser, nameArgs);
    }

    public static <T> T one(ImageDir dir, ImageType t, Parser<T> parser, Object... nameArgs) {
        try (ImageReader r = dir.open(t, nameArgs)) {
            return r.readOne(parser);
        }
    }

    /** The single entry of image {@code t} (core-PID.img, mm-PID.img, ...) in {@code dir}, replaced by {@code edit} of it. */
    public static <T extends MessageLite> void rewriteOne(Path dir, ImageType t, Parser<T> parser, UnaryOperator<T> edit, Object... nameArgs)
            throws IOException {
        write(dir, t, List.of(edit.apply(one(dir, t, parser, nameArgs))), nameArgs);
    }

    /** Every entry of image {@code t}, in order. */
    public static <T> List<T> all(Path dir, ImageType t, Parser<T> parser, Object... nameArgs) {
        return all(new ImageDir(dir), t, parser, nameArgs);
    }

    public static <T> List<T> all(ImageDir dir, ImageType t, Parser<T> parser, Object... nameArgs) {
        List<T> out = new ArrayList<>();
        try (ImageReader r = dir.open(t, nameArgs)) {
            T e;
            while ((e = r.read(parser)) != null) out.add(e);
        }
        return out;
    }

    /** Image {@code t} written anew with {@code entries}. */
    public static void write(Path dir, ImageType t, List<? extends MessageLite> entries, Object... nameArgs) throws IOException {
        ImageDir d = new ImageDir(dir);
        Files.delete(d.path(t, nameArgs));
        try (ImageWriter w = d.create(t, nameArgs)) {
            for (MessageLite m : entries) w.write(m);
        }
    }
}

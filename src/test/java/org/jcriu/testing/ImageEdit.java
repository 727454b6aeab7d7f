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
 * Images changed in place by a test, to make a restore meet what a dump would rarely write (a
 * pending signal, a VMA kind jcriu refuses, a missing directory): read, edited, written anew.
 */
public final class ImageEdit {
    private ImageEdit() {}

    /** The single entry of image {@code t} (core-PID.img, mm-PID.img, ...) in {@code dir}, replaced by {@code edit} of it. */
    public static <T extends MessageLite> void one(Path dir, ImageType t, Parser<T> parser, UnaryOperator<T> edit, Object... nameArgs)
            throws IOException {
        T e;
        try (ImageReader r = new ImageDir(dir).open(t, nameArgs)) {
            e = r.readOne(parser);
        }
        write(dir, t, List.of(edit.apply(e)), nameArgs);
    }

    /** Every entry of image {@code t}, in order. */
    public static <T> List<T> entries(Path dir, ImageType t, Parser<T> parser, Object... nameArgs) {
        List<T> out = new ArrayList<>();
        try (ImageReader r = new ImageDir(dir).open(t, nameArgs)) {
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

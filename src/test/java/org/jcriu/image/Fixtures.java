package org.jcriu.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The CRIU 4.2 fixture images under the shared directory next to the repository
 * ({@code ../shared}; a worktree under /work/wt also finds {@code ../../shared}). Tests skip
 * when it is absent.
 */
public final class Fixtures {
    private Fixtures() {
    }

    public static Path root() {
        String prop = System.getProperty("jcriu.fixtures");
        if (prop != null) {
            return Path.of(prop);
        }
        for (String c : new String[] {"../shared/fixtures/criu-4.2", "../../shared/fixtures/criu-4.2"}) {
            Path p = Path.of(c).toAbsolutePath().normalize();
            if (Files.isDirectory(p)) {
                return p;
            }
        }
        return null;
    }

    /**
     * A copy of fixture dump {@code name} (its regular files) in {@code into}, for a test that
     * restores it or changes its images; the test is skipped where the fixtures are absent.
     * Also creates /srv/jcriu-fixture, the cwd of the dumped tasks.
     */
    public static Path copy(String name, Path into) throws java.io.IOException {
        Path root = root();
        org.junit.jupiter.api.Assumptions.assumeTrue(root != null, "no CRIU fixtures (../shared) here");
        Files.createDirectories(into);
        try (var s = Files.list(root.resolve(name))) {
            for (Path p : s.filter(Files::isRegularFile).toList()) Files.copy(p, into.resolve(p.getFileName()));
        }
        Files.createDirectories(Path.of("/srv/jcriu-fixture"));
        return into;
    }

    /** Dump directories (those with an inventory.img). */
    public static List<Path> dumps() {
        Path r = root();
        if (r == null) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(r)) {
            return s.filter(p -> Files.exists(p.resolve("inventory.img"))).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every image file of every dump (not crit/, COMMAND or raw pages). */
    public static List<Path> images() {
        return dumps().stream().flatMap(d -> {
            try (Stream<Path> s = Files.list(d)) {
                return s.filter(p -> Files.isRegularFile(p) && !p.getFileName().toString().equals("COMMAND")).sorted().toList().stream();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).toList();
    }

    public static boolean isRaw(Path p) {
        return p.getFileName().toString().matches("pages-\\d+\\.img");
    }

    /** A seeded random damage: bit flips, truncation, a size-like word overwritten, or an inserted byte. */
    public static byte[] mutate(byte[] orig, Random rnd) {
        byte[] b = orig.clone();
        switch (rnd.nextInt(4)) {
            case 0 -> {
                for (int i = 1 + rnd.nextInt(8); i > 0; i--) {
                    b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> b = Arrays.copyOf(b, rnd.nextInt(b.length));
            case 2 -> {
                // Overwrite a size-like word anywhere with a large value.
                int at = b.length < 4 ? 0 : rnd.nextInt(b.length - 3);
                int v = rnd.nextBoolean() ? -1 : rnd.nextInt();
                if (b.length >= 4) {
                    ImageWriter.putLe32(b, at, v);
                }
            }
            default -> {
                int at = rnd.nextInt(b.length);
                byte[] c = new byte[b.length + 1];
                System.arraycopy(b, 0, c, 0, at);
                c[at] = (byte) rnd.nextInt();
                System.arraycopy(b, at, c, at + 1, b.length - at);
                b = c;
            }
        }
        return b;
    }
}

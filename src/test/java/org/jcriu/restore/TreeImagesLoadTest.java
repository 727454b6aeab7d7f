package org.jcriu.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.jcriu.CriuException;
import org.jcriu.image.Fixtures;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.PstreeEntry;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the loader makes of CRIU 4.2's trees (bash-loop, sink's zombie), and the tree shapes it refuses. */
class TreeImagesLoadTest {
    @TempDir
    Path tmp;
    Path root;

    @BeforeEach
    void fixtures() {
        root = Fixtures.root();
        assumeTrue(root != null, "no CRIU fixtures (../shared) here");
    }

    private Path copy(String fixture) throws IOException {
        Path d = Files.createDirectories(tmp.resolve(fixture));
        try (Stream<Path> s = Files.list(root.resolve(fixture))) {
            for (Path p : s.filter(Files::isRegularFile).toList()) Files.copy(p, d.resolve(p.getFileName()));
        }
        return d;
    }

    @Test
    void bashLoopIsAShellAndItsChild() {
        TreeImages t = new ImageLoader(new ImageDir(root.resolve("bash-loop"))).loadTree();
        assertEquals(List.of(21143, 21147), t.tasks().stream().map(TaskImages::pid).toList());
        assertEquals(List.of(21147), t.children(21143).stream().map(TaskImages::pid).toList());
        assertEquals("sleep", t.task(21147).comm());
        assertTrue(t.tasks().stream().noneMatch(TaskImages::zombie));
    }

    /** A zombie as CRIU writes one (sink's 21251): core-PID.img alone, threads [0] in pstree.img; nothing else is read. */
    @Test
    void aZombieIsLoadedFromItsCoreAlone() throws IOException {
        Path d = copy("bash-loop");
        List<PstreeEntry> e = new ArrayList<>(entries(d));
        e.add(PstreeEntry.newBuilder().setPid(21251).setPpid(21143).setPgid(21143).setSid(21143).addThreads(0).build());
        rewrite(d, e);
        Files.copy(root.resolve("sink/core-21251.img"), d.resolve("core-21251.img"));
        TreeImages t = new ImageLoader(new ImageDir(d)).loadTree();
        TaskImages z = t.task(21251);
        assertTrue(z.zombie());
        assertEquals(3 << 8, z.core().getTc().getExitCode());
        assertEquals(List.of(21143, 21147), t.live().stream().map(TaskImages::pid).toList());
        assertEquals(List.of(21143, 21147, 21251), List.copyOf(t.ids().keySet()));
    }

    @Test
    void aZombieRootIsRefused() throws IOException {
        Path d = copy("bash-loop");
        rewrite(d, List.of(PstreeEntry.newBuilder().setPid(21251).setPpid(0).setPgid(21251).setSid(21251).addThreads(0).build()));
        Files.copy(root.resolve("sink/core-21251.img"), d.resolve("core-21251.img"));
        CriuException x = assertThrows(CriuException.class, () -> new ImageLoader(new ImageDir(d)).loadTree());
        assertEquals(d.resolve("core-21251.img") + ": the root task 21251 is a zombie", x.getMessage());
    }

    private static void rewrite(Path d, List<PstreeEntry> entries) throws IOException {
        Files.delete(d.resolve("pstree.img"));
        try (ImageWriter w = new ImageDir(d).create(ImageType.PSTREE)) {
            for (PstreeEntry e : entries) w.write(e);
        }
    }

    private static List<PstreeEntry> entries(Path d) throws IOException {
        List<PstreeEntry> out = new ArrayList<>();
        try (ImageReader r = ImageReader.open(d.resolve("pstree.img"), ImageType.PSTREE)) {
            PstreeEntry e;
            while ((e = r.read(PstreeEntry.parser())) != null) out.add(e);
        }
        return out;
    }

    @Test
    void aChildListedBeforeItsParentIsRefused() throws IOException {
        Path d = copy("bash-loop");
        List<PstreeEntry> e = entries(d);
        rewrite(d, List.of(e.get(1), e.get(0)));
        CriuException x = assertThrows(CriuException.class, () -> new ImageLoader(new ImageDir(d)).loadTree());
        assertEquals(d.resolve("pstree.img") + ": the root task 21147 has a parent in the dump", x.getMessage());
    }

    @Test
    void aParentMissingFromTheTreeIsRefused() throws IOException {
        Path d = copy("bash-loop");
        List<PstreeEntry> e = entries(d);
        rewrite(d, List.of(e.get(0), e.get(1).toBuilder().setPpid(4242).build()));
        CriuException x = assertThrows(CriuException.class, () -> new ImageLoader(new ImageDir(d)).loadTree());
        assertEquals(d.resolve("pstree.img") + ": task 21147 has parent 4242, which is not listed before it in the tree", x.getMessage());
    }

    @Test
    void aPidListedTwiceIsRefused() throws IOException {
        Path d = copy("bash-loop");
        List<PstreeEntry> e = entries(d);
        rewrite(d, List.of(e.get(0), e.get(1), e.get(1)));
        CriuException x = assertThrows(CriuException.class, () -> new ImageLoader(new ImageDir(d)).loadTree());
        assertEquals(d.resolve("pstree.img") + ": pid 21147 is listed twice", x.getMessage());
    }

    @Test
    void aMissingCoreImageOfTheChildNamesIt() throws IOException {
        Path d = copy("bash-loop");
        Files.delete(d.resolve("core-21147.img"));
        CriuException x = assertThrows(CriuException.class, () -> new ImageLoader(new ImageDir(d)).loadTree());
        assertTrue(x.getMessage().contains("core-21147.img"), x.getMessage());
    }
}

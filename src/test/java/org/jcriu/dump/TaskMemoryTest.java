package org.jcriu.dump;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.jcriu.image.ImageDir;
import org.jcriu.proc.Maps;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TaskMemory on a sleeping process (asleep, its memory does not change): files, names, leftovers. */
class TaskMemoryTest {
    @TempDir
    Path tmp;

    private static List<String> names(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void takenPagesAreTheTasksUnderTheirPagesName() throws Exception {
        Path img = Files.createDirectories(tmp.resolve("img"));
        try (Workload w = Workload.sleep(tmp.resolve("w"))) {
            List<VmaPlan.Area> areas = VmaPlan.build(w.pid(), Maps.read(w.pid()), null).areas();
            TaskMemory.Copied c;
            try (TaskMemory m = new TaskMemory(new ImageDir(img), List.of(w.pid()))) {
                c = m.take(w.pid(), areas, java.util.function.UnaryOperator.identity(), img.resolve("pages-7.img"));
            }
            assertEquals(List.of("pages-7.img"), names(img));
            assertTrue(c.scan().pagesToWrite() > 0);
            byte[] got = Files.readAllBytes(img.resolve("pages-7.img"));
            assertEquals(c.scan().pagesToWrite() * 4096, got.length);
            // the same pages copied directly
            Path direct = tmp.resolve("direct.img");
            new PageWriter(w.pid()).write(PageScan.scan(w.pid(), areas).runs(), direct, 2);
            assertArrayEquals(Files.readAllBytes(direct), got);
        }
    }

    @Test
    void copiesNotTakenLeaveNoFileBehind() throws Exception {
        Path img = Files.createDirectories(tmp.resolve("img"));
        try (Workload a = Workload.sleep(tmp.resolve("a")); Workload b = Workload.sleep(tmp.resolve("b"))) {
            try (TaskMemory m = new TaskMemory(new ImageDir(img), List.of(a.pid(), b.pid()))) {
                List<VmaPlan.Area> areas = VmaPlan.build(a.pid(), Maps.read(a.pid()), null).areas();
                m.take(a.pid(), areas, java.util.function.UnaryOperator.identity(), img.resolve("pages-1.img"));
            }
            assertEquals(List.of("pages-1.img"), names(img), "b's copy was never taken (a failed dump)");
        }
    }

    @Test
    void areasOtherThanThoseCopiedAreCopiedAgain() throws Exception {
        Path img = Files.createDirectories(tmp.resolve("img"));
        try (Workload w = Workload.sleep(tmp.resolve("w"))) {
            List<VmaPlan.Area> areas = VmaPlan.build(w.pid(), Maps.read(w.pid()), null).areas();
            List<VmaPlan.Area> fewer = areas.subList(0, areas.size() - 1);
            TaskMemory.Copied c;
            try (TaskMemory m = new TaskMemory(new ImageDir(img), List.of(w.pid()))) {
                c = m.take(w.pid(), fewer, java.util.function.UnaryOperator.identity(), img.resolve("pages-1.img"));
            }
            assertEquals(fewer, c.areas());
            assertEquals(List.of("pages-1.img"), names(img));
            assertEquals(PageScan.scan(w.pid(), fewer).pagesToWrite() * 4096, Files.size(img.resolve("pages-1.img")));
        }
    }
}

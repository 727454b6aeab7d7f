package org.jcriu.files;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.jcriu.files.reg.BuildId;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;
import org.jcriu.testing.Workloads;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restore checks that the files it reopens are the ones that were dumped (CRIU's
 * validate_file): size, mode (r/w/x unless --skip-file-rwx-check) and, with --file-validation
 * buildid (the default), the build-id of an ELF file. A refused restore leaves the images usable.
 */
class FileValidationIT {
    @TempDir Path tmp;

    private static Jcriu.Result restore(Path d, String... extra) {
        List<Object> args = new java.util.ArrayList<>(List.of("restore", "-D", d, "-d"));
        args.addAll(List.of(extra));
        return Jcriu.run(args.toArray());
    }

    @Test
    void fileThatChangedSizeIsRefusedThenRestoresOnceBack() throws Exception {
        try (Workload w = Workload.c("files", tmp.resolve("w"))) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Path data = w.dir().resolve("data");
            Files.writeString(data, "0123456789abcdefX");
            Jcriu.Result r = restore(d);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("File " + data + " (id "), r.stderr());
            assertTrue(r.stderr().contains("has bad size 17 (expect 16)"), r.stderr());
            Files.writeString(data, "0123456789abcdef");
            r = restore(d);
            assertEquals(0, r.exit(), r.all());
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    @Test
    void fileThatChangedPermissionsIsRefusedUnlessRwxCheckIsSkipped() throws Exception {
        try (Workload w = Workload.c("files", tmp.resolve("w"))) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            Path data = w.dir().resolve("data");
            Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rw-------"));
            Jcriu.Result r = restore(d);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("has bad mode 0100600 (expect 0100644); file r/w/x checks can be skipped with --skip-file-rwx-check"),
                    r.stderr());
            r = restore(d, "--skip-file-rwx-check");
            assertEquals(0, r.exit(), r.all());
            assertEquals("PASS", w.terminateAndVerdict());
        }
    }

    /**
     * A shell that opened a copy of an ELF file as fd 5, then exec'd sleep: the copy is replaced
     * by one of the same size with another build-id. Refused by default, restored with
     * --file-validation filesize.
     */
    @Test
    void openElfFileWithAnotherBuildIdIsRefusedUnlessValidatingBySize() throws Exception {
        Path wd = Files.createDirectories(tmp.resolve("w"));
        Path elf = wd.resolve("counter.bin");
        Files.copy(Workloads.binary("counter"), elf);
        byte[] id = BuildId.of(elf);
        assertNotNull(id, "gcc wrote no build-id into the workload");
        try (Workload w = Workload.start(wd, List.of("/bin/sh", "-c", "exec 5<\"$1\"; echo $$ > \"$0/ready\"; exec sleep 1000",
                wd.toString(), elf.toString()), false).awaitExec("sleep", 'S')) {
            Path d = Jcriu.dumpKilled(w, tmp.resolve("imgs"));
            byte[] bin = Files.readAllBytes(elf);
            int at = indexOf(bin, id);
            assertTrue(at > 0);
            bin[at + id.length - 1] ^= 0x5a;
            Files.write(elf, bin, StandardOpenOption.TRUNCATE_EXISTING);
            Jcriu.Result r = restore(d);
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.stderr().contains("File " + elf + " (id "), r.stderr());
            assertTrue(r.stderr().contains("has bad build-ID"), r.stderr());
            assertFalse(w.alive());
            r = restore(d, "--file-validation", "filesize");
            assertEquals(0, r.exit(), r.all());
            assertTrue(w.alive());
            assertEquals(elf.toString(), Files.readSymbolicLink(Path.of("/proc", Integer.toString(w.pid()), "fd", "5")).toString());
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}

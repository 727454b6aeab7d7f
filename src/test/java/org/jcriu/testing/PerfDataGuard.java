package org.jcriu.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Keeps a workload JVM's perf data file (/tmp/hsperfdata_USER/PID, a shared file mapping its
 * restore needs) across a dump. Any JVM that starts while the dumped pid is dead deletes that
 * file as a stale one; a hard link taken before the dump lets {@link #putBack} recreate it.
 */
public final class PerfDataGuard {
    private final Path file;
    private final Path link;

    private PerfDataGuard(Path file, Path link) {
        this.file = file;
        this.link = link;
    }

    /** Links the perf data file of {@code pid} into {@code tmpDir}; waits for the JVM to create it. */
    public static PerfDataGuard of(int pid, Path tmpDir) throws IOException, InterruptedException {
        Path file = Path.of("/tmp/hsperfdata_" + System.getProperty("user.name"), String.valueOf(pid));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!Files.exists(file) && System.nanoTime() < deadline) Thread.sleep(10);
        Path link = tmpDir.resolve("hsperfdata-" + pid);
        Files.createLink(link, file);
        return new PerfDataGuard(file, link);
    }

    /** Before the restore: the file again, if another JVM removed it meanwhile. */
    public void putBack() {
        try {
            if (!Files.exists(file)) Files.createLink(file, link);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

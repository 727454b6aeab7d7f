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
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // put back by the keeper thread or another call meanwhile
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Puts the file back every millisecond until {@code close()}: a JVM started by a concurrent
     * suite between one {@link #putBack} and the restore's open of the file would delete it again
     * (the pid is still dead until restore clones it).
     */
    public AutoCloseable keptDuring() {
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread t = Thread.ofPlatform().daemon().name("perfdata-" + file.getFileName()).start(() -> {
            while (!stop.get()) {
                putBack();
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        return () -> {
            stop.set(true);
            t.join();
        };
    }
}

package org.jcriu.restore;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine's pool of 2 MiB huge pages (/proc/sys/vm/nr_hugepages) raised for one test and
 * lowered again on {@link #close()} by as many pages as the raise added. Relative both ways, so
 * that test runs sharing the machine (each raising the pool for itself) do not take each other's
 * pages away by writing back a value read before another raised it; one run alone leaves the
 * pool as it found it. A test is skipped (with the reason) only when the pool cannot be raised or
 * the kernel gives fewer free pages than asked for.
 */
final class HugePages implements AutoCloseable {
    private static final Path NR = Path.of("/proc/sys/vm/nr_hugepages");
    private long added;

    private HugePages() {}

    /** Raises the pool by {@code more} pages and checks that at least {@code free} pages are free. */
    static HugePages raise(int more, int free) throws IOException {
        assumeTrue(Files.isWritable(NR), "no " + NR + " to write");
        HugePages p = new HugePages();
        synchronized (HugePages.class) {
            long was = nr();
            try {
                Files.writeString(NR, Long.toString(was + more));
            } catch (IOException e) {
                assumeTrue(false, "can't raise vm.nr_hugepages here: " + e.getMessage());
            }
            // the kernel sets what it could allocate, which may be less
            p.added = Math.max(0, nr() - was);
        }
        long have = free();
        if (have < free) {
            p.close();
            assumeTrue(false, "the kernel gave only " + have + " free 2 MiB huge pages, " + free + " needed");
        }
        return p;
    }

    private static long nr() throws IOException {
        return Long.parseLong(Files.readString(NR).strip());
    }

    static long free() throws IOException {
        return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("HugePages_Free:"))
                .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElse(0);
    }

    @Override
    public void close() throws IOException {
        synchronized (HugePages.class) {
            if (added > 0) Files.writeString(NR, Long.toString(Math.max(0, nr() - added)));
            added = 0;
        }
    }
}

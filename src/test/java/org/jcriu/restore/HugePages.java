package org.jcriu.restore;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine's pool of 2 MiB huge pages (/proc/sys/vm/nr_hugepages) raised for one test and
 * set back to what it was on {@link #close()}. A test is skipped (with the reason) only when
 * the pool cannot be raised or the kernel gives fewer free pages than asked for.
 */
final class HugePages implements AutoCloseable {
    private static final Path NR = Path.of("/proc/sys/vm/nr_hugepages");
    private final String before;

    private HugePages(String before) {
        this.before = before;
    }

    /** Raises the pool by {@code more} pages and checks that at least {@code free} of them are free. */
    static HugePages raise(int more, int free) throws IOException {
        assumeTrue(Files.isWritable(NR), "no " + NR + " to write");
        String was = Files.readString(NR).strip();
        HugePages p = new HugePages(was);
        try {
            Files.writeString(NR, Integer.toString(Integer.parseInt(was) + more));
        } catch (IOException e) {
            assumeTrue(false, "can't raise vm.nr_hugepages here: " + e.getMessage());
        }
        long have = free();
        if (have < free) {
            p.close();
            assumeTrue(false, "the kernel gave only " + have + " free 2 MiB huge pages, " + free + " needed");
        }
        return p;
    }

    static long free() throws IOException {
        return meminfo("HugePages_Free:");
    }

    static long meminfo(String key) throws IOException {
        return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith(key))
                .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElse(0);
    }

    @Override
    public void close() throws IOException {
        Files.writeString(NR, before);
    }
}

package org.jcriu.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.TimeUnit;

/**
 * Workload programs from src/test/resources/workloads: C sources are compiled once per build
 * with the machine's gcc into target/workloads/, scripts are copied there.
 */
public final class Workloads {
    public static final Path DIR = Path.of("target", "workloads").toAbsolutePath();
    /** Headers the C workloads include: report.h (put_in, put_ready), workload.h (stop, dir, verdict, put, ...), hugepage.h (HP, huge_at). */
    private static final java.util.List<String> HEADERS = java.util.List.of("report.h", "workload.h", "hugepage.h");

    private Workloads() {}

    /**
     * The executable for a C workload ("counter" for counter.c), compiled if needed; named after
     * the checksum of the source and the shared headers so that an edited workload is never run from a stale binary.
     */
    public static synchronized Path binary(String name) {
        Path src = resource(name + ".c");
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        try {
            crc.update(Files.readAllBytes(src));
            // The shared headers sit next to the sources (gcc finds them there) and are part of the checksum.
            for (String h : HEADERS) crc.update(Files.readAllBytes(resource(h)));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        Path out = DIR.resolve(name + "-" + Long.toHexString(crc.getValue()));
        if (Files.isExecutable(out)) return out;
        run("gcc", "-O1", "-g", "-o", out.toString(), src.toString());
        return out;
    }

    /** A script workload ("loop.sh", "loop.py") copied out of the test resources. */
    public static synchronized Path script(String fileName) {
        return resource(fileName);
    }

    private static Path resource(String fileName) {
        try {
            Files.createDirectories(DIR);
            Path dst = DIR.resolve("src").resolve(fileName);
            Files.createDirectories(dst.getParent());
            try (InputStream in = Workloads.class.getResourceAsStream("/workloads/" + fileName)) {
                if (in == null) throw new IllegalStateException("no workload resource " + fileName);
                Files.copy(in, dst, StandardCopyOption.REPLACE_EXISTING);
            }
            return dst;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0)
                throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}

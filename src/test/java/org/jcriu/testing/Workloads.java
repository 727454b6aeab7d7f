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

    private Workloads() {}

    /**
     * The executable for a C workload ("counter" for counter.c), compiled if needed; named after
     * the checksum of the source and workload.h so that an edited workload is never run from a stale binary.
     */
    public static synchronized Path binary(String name) {
        Path src = resource(name + ".c");
        // workload.h is shared by the C workloads: it sits next to them and is part of the checksum.
        Path header = resource("workload.h");
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        try {
            crc.update(Files.readAllBytes(src));
            crc.update(Files.readAllBytes(header));
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

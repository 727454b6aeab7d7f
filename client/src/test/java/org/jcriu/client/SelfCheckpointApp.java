package org.jcriu.client;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.jcriu.image.proto.CriuOpts;

/**
 * The JVM of {@link SelfCheckpointIT}: a thread pool sums squares in chunks; with a quarter of the
 * chunks done (the pool still busy) the main thread checkpoints the JVM with
 * {@link Criu#checkpointSelf}, says what it learnt, and every chunk is then finished and checked
 * against the sum computed again on one thread.
 *
 * <p>{@code SelfCheckpointApp DIR JCRIU|sk:SOCKET leave|kill} (swrk, or a jcriu service). Files in DIR: ready (pid), calling (epoch
 * ms at the call), result ("restored=B call_ms=N at_ms=EPOCH", or "error ..."), verdict
 * ("PASS total=..." or "FAIL ..."); the images in DIR/img.
 */
public final class SelfCheckpointApp {
    static final int CHUNKS = 400, CHUNK = 400_000;

    static long chunk(int k) {
        long s = 0;
        for (long i = (long) k * CHUNK; i < (long) (k + 1) * CHUNK; i++) s += (i * i) % 1_000_003;
        return s;
    }

    static void put(Path dir, String name, String text) throws Exception {
        Path tmp = dir.resolve("." + name);
        Files.writeString(tmp, text);
        Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Criu criu = args[1].startsWith("sk:") ? Criu.service(Path.of(args[1].substring(3))) : Criu.swrk(Path.of(args[1]));
        boolean leave = args[2].equals("leave");
        // Java's process reaper exists before the checkpoint: it must work in the restored copy
        if (new ProcessBuilder("true").start().waitFor() != 0) throw new IllegalStateException("true failed");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Long>> parts = new ArrayList<>();
        for (int k = 0; k < CHUNKS; k++) {
            int kk = k;
            parts.add(pool.submit(() -> chunk(kk)));
        }
        put(dir, "ready", String.valueOf(ProcessHandle.current().pid()));
        parts.get(CHUNKS / 4).get();

        Files.createDirectories(dir.resolve("img"));
        put(dir, "calling", String.valueOf(System.currentTimeMillis()));
        long t0 = System.nanoTime();
        boolean restored;
        try {
            restored = criu.checkpointSelf(dir.resolve("img"),
                    CriuOpts.newBuilder().setLogLevel(4).setLogFile("dump.log").setLeaveRunning(leave));
        } catch (CriuRpcException e) {
            put(dir, "result", "error " + e.getMessage());
            System.exit(1);
            return;
        }
        long callMs = (System.nanoTime() - t0) / 1_000_000;
        put(dir, "result", "restored=" + restored + " call_ms=" + callMs + " at_ms=" + System.currentTimeMillis());
        System.out.println(restored ? "restored" : "checkpointed, running on");

        long total = 0;
        for (Future<Long> f : parts) total += f.get();
        pool.shutdown();
        long expect = 0;
        for (int k = 0; k < CHUNKS; k++) expect += chunk(k);
        Process echo = new ProcessBuilder("echo", "child after restore").start();
        String said = new String(echo.getInputStream().readAllBytes()).strip();
        int rc = echo.waitFor();
        put(dir, "verdict", total == expect && rc == 0 && said.equals("child after restore")
                ? "PASS restored=" + restored + " total=" + total
                : "FAIL total " + total + " expected " + expect + ", echo said '" + said + "' exit " + rc);
    }
}

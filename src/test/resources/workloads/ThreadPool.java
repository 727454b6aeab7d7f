import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Java thread pool workload (run with the source launcher, default flags): 4 pooled tasks print
 * "task I tick N" every 20 ms. DIR/ready holds the pid once every task ticked; on SIGTERM a
 * shutdown hook checks that every task still ticks and writes DIR/verdict.
 */
public class ThreadPool {
    static void put(Path d, String name, String text) throws Exception {
        Files.writeString(d.resolve("." + name), text);
        Files.move(d.resolve("." + name), d.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    public static void main(String[] a) throws Exception {
        Path d = Path.of(a[0]);
        AtomicLongArray ticks = new AtomicLongArray(4);
        ScheduledExecutorService ex = Executors.newScheduledThreadPool(4);
        for (int i = 0; i < 4; i++) {
            int id = i;
            ex.scheduleAtFixedRate(() -> System.out.println("task " + id + " tick " + ticks.incrementAndGet(id)),
                    0, 20, TimeUnit.MILLISECONDS);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                long[] before = new long[4];
                for (int i = 0; i < 4; i++) before[i] = ticks.get(i);
                Thread.sleep(300);
                StringBuilder stuck = new StringBuilder();
                for (int i = 0; i < 4; i++) if (ticks.get(i) <= before[i]) stuck.append(' ').append(i);
                put(d, "verdict", stuck.isEmpty() ? "PASS ticks=" + ticks + "\n" : "FAIL stuck tasks:" + stuck + "\n");
            } catch (Exception e) {
                e.printStackTrace();
            }
        }));
        for (int i = 0; i < 4; i++) while (ticks.get(i) < 5) Thread.sleep(5);
        put(d, "ready", Long.toString(ProcessHandle.current().pid()));
        Thread.currentThread().join();
    }
}

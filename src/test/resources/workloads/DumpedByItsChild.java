import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A JVM that has jcriu dump it from a ProcessBuilder child (`jcriu dump -t <its own pid>`): jcriu
 * leaves itself out of the tree, so in the restored JVM Java's process reaper is waiting for a pid
 * that is not its child any more. DIR/result: "waitFor=N echo=..." once p.waitFor() returned and a
 * process started afterwards ran; on SIGTERM (a shutdown hook) DIR/verdict.
 *   java DumpedByItsChild.java DIR JCRIU
 */
public class DumpedByItsChild {
    public static void main(String[] a) throws Exception {
        Path d = Path.of(a[0]);
        String me = String.valueOf(ProcessHandle.current().pid());
        Files.createDirectories(d.resolve("img"));
        Files.writeString(d.resolve("ready"), me);
        Process p = new ProcessBuilder(a[1], "dump", "-t", me, "-D", d.resolve("img").toString(), "-v4", "-o", "dump.log")
                .redirectOutput(d.resolve("jcriu.out").toFile()).redirectErrorStream(true).start();
        int rc = p.waitFor();
        Process q = new ProcessBuilder("echo", "after").start();
        String said = new String(q.getInputStream().readAllBytes()).strip();
        int qrc = q.waitFor();
        String result = "waitFor=" + rc + " echo=" + said + " rc=" + qrc;
        Files.writeString(d.resolve("result"), result);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Files.writeString(d.resolve("verdict"), (said.equals("after") && qrc == 0 ? "PASS " : "FAIL ") + result);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }));
        Thread.sleep(Long.MAX_VALUE);
    }
}

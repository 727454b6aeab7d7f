package org.jcriu.log;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

import org.jcriu.CriuException;

/**
 * --pidfile: the root task (restore), service or page-server pid as decimal text without a
 * newline, in a file created exclusively with mode 0600 (CRIU's write_pidfile), so a stale
 * pidfile is an error rather than silently overwritten.
 */
public final class Pidfile {
    private static final Logger LOG = Log.get("pidfile");

    private Pidfile() {}

    /**
     * {@code path} is already resolved against the work dir (Options.pidfile is). The pid is
     * written to a temporary file next to it that is then hard-linked at {@code path}: the link
     * fails if the pidfile exists (as criu's O_EXCL) and a reader never sees it empty.
     */
    public static void write(Path path, int pid) {
        Path dir = path.toAbsolutePath().getParent();
        Path tmp = dir.resolve("." + path.getFileName() + ".jcriu-" + ProcessHandle.current().pid());
        try {
            Files.deleteIfExists(tmp);
            Files.write(Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))),
                    Integer.toString(pid).getBytes(StandardCharsets.US_ASCII), StandardOpenOption.WRITE);
            Files.createLink(path, tmp);
        } catch (FileAlreadyExistsException e) {
            throw new CriuException("pidfile: Can't open " + path + ": File exists");
        } catch (IOException e) {
            throw new CriuException("pidfile: Can't write pid " + pid + " to " + path + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException e) {
                LOG.warn("could not remove %s: %s", tmp, e.getMessage());
            }
        }
        LOG.debug("Wrote pid %d to %s", pid, path);
    }
}

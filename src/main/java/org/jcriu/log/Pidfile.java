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

    /** {@code path} is already resolved against the work dir (Options.pidfile is). */
    public static void write(Path path, int pid) {
        try {
            Files.write(Files.createFile(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))),
                    Integer.toString(pid).getBytes(StandardCharsets.US_ASCII), StandardOpenOption.WRITE);
        } catch (FileAlreadyExistsException e) {
            throw new CriuException("pidfile: Can't open " + path + ": File exists");
        } catch (IOException e) {
            throw new CriuException("pidfile: Can't write pid " + pid + " to " + path + ": " + e.getMessage(), e);
        }
        LOG.debug("Wrote pid %d to %s", pid, path);
    }
}

package org.jcriu.proc;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.jcriu.CriuException;

/**
 * Reads whole /proc files. Kernel seq_files report size 0 and must be read to end of file in one
 * pass, which {@link InputStream#readAllBytes()} does; each file is read once per dump so
 * parsers work on the bytes, never on a second read.
 */
public final class ProcFs {
    private ProcFs() {}

    public static Path pidDir(int pid) {
        return Path.of("/proc", Integer.toString(pid));
    }

    public static byte[] read(int pid, String name) {
        return read(pidDir(pid).resolve(name));
    }

    public static byte[] read(Path p) {
        try (InputStream in = Files.newInputStream(p)) {
            return in.readAllBytes();
        } catch (NoSuchFileException e) {
            throw new CriuException(3, "Can't read " + p + ": no such file (process gone?)");
        } catch (IOException e) {
            throw new CriuException("Can't read " + p + ": " + e.getMessage(), e);
        }
    }

    public static String readString(int pid, String name) {
        return new String(read(pid, name), java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /** The target of a /proc symlink (fd/N, cwd, exe, map_files/...). */
    public static String readlink(Path p) {
        try {
            return Files.readSymbolicLink(p).toString();
        } catch (NoSuchFileException e) {
            throw new CriuException(3, "Can't readlink " + p + ": no such file");
        } catch (IOException e) {
            throw new CriuException("Can't readlink " + p + ": " + e.getMessage(), e);
        }
    }
}

package org.jcriu.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.jcriu.CriuException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PidfileTest {
    @TempDir
    Path dir;

    @Test
    void writesPidWithoutNewlineAndRefusesToOverwrite() throws Exception {
        Path p = dir.resolve("root.pid");
        Pidfile.write(p, 12345);
        assertEquals("12345", Files.readString(p));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
        assertEquals("pidfile: Can't open " + p + ": File exists",
                assertThrows(CriuException.class, () -> Pidfile.write(p, 1)).getMessage());
    }
}

package org.jcriu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** uname(2) fields from /proc/sys/kernel, for the log's "Running on" line (CRIU prints the same). */
final class Uname {
    private Uname() {}

    static String line() {
        return read("hostname") + " " + read("ostype") + " " + read("osrelease") + " " + read("version") + " "
                + (System.getProperty("os.arch").equals("amd64") ? "x86_64" : System.getProperty("os.arch"));
    }

    private static String read(String f) {
        try {
            return Files.readString(Path.of("/proc/sys/kernel", f)).strip();
        } catch (IOException e) {
            return "?";
        }
    }
}

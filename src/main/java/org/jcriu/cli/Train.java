package org.jcriu.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The AOT training run behind {@code bin/jcriu --build-aot}: exercises the command line the way
 * real invocations do (help, version, option parsing, errors, check) so the JDK 25 AOT cache
 * holds those classes already loaded and linked. Output goes nowhere useful; exit status 0.
 */
final class Train {
    private Train() {}

    public static void main(String[] args) throws Exception {
        CommandLine.Env env = new CommandLine.Env(Path.of("/nonexistent/jcriu-train.conf"), null, null);
        Path dir = Files.createTempDirectory("jcriu-train");
        try {
            String d = dir.toString();
            Main.run(new String[] {"--version"}, env);
            Main.run(new String[] {"--help"}, env);
            // never a dump that could run: the images dir does not exist, so it stops in validation
            Main.run(new String[] {"dump", "-t", "1", "-D", d + "/none", "-vvvv", "-o", "dump.log", "-j"}, env);
            Main.run(new String[] {"restore", "-D", d, "-d", "--bogus"}, env);
            Main.run(new String[] {"check", "-D", d, "-o", "check.log", "-v4"}, env);
            Main.run(new String[] {"check", "--feature", "uffd-noncoop", "-D", d}, env);
            Main.run(new String[] {"check", "--all", "-D", d}, env);
        } finally {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
    }
}

package org.jcriu.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Config sources and their order, on files in a temp dir instead of /etc and $HOME. */
class CommandLineTest {
    @TempDir
    Path dir;
    Path global, home, env, cli;

    @BeforeEach
    void files() throws IOException {
        global = dir.resolve("global.conf");
        home = dir.resolve("home");
        Files.createDirectories(home.resolve(".criu"));
        env = dir.resolve("env.conf");
        cli = dir.resolve("cli.conf");
    }

    CommandLine.Env envWith(boolean useEnv) {
        return new CommandLine.Env(global, home.toString(), useEnv ? env.toString() : null);
    }

    void write(Path p, String... lines) throws IOException {
        Files.write(p, List.of(lines));
    }

    Path user() {
        return home.resolve(".criu/default.conf");
    }

    @Test
    void laterSourcesOverrideEarlierOnes() throws IOException {
        write(global, "log-file g.log", "timeout 1", "tcp-established", "ghost-limit 1K", "verbosity=3");
        write(user(), "log-file u.log", "timeout 2", "no-tcp-established", "ghost-limit 2K");
        write(env, "log-file e.log", "timeout 3", "ghost-limit 3K");
        write(cli, "log-file c.log");
        CommandLine.Parsed p = CommandLine.parse(new String[] {"dump", "-t", "1", "--timeout", "9"}, envWith(true));
        assertEquals("e.log", p.options().logFile);
        assertEquals(9, p.options().timeout);
        assertFalse(p.options().tcpEstablished);
        assertEquals(3072, p.options().ghostLimit);
        assertEquals(3, p.options().logLevel);
        assertEquals(List.of(global.toString(), user().toString(), env.toString()), p.configsRead());
        assertEquals(List.of("dump"), p.operands());
    }

    @Test
    void configFlagSkipsDefaultFilesButNotTheEnvironmentFile() throws IOException {
        write(global, "timeout 1");
        write(user(), "ghost-limit 2K");
        write(env, "log-file e.log");
        write(cli, "log-file c.log", "tcp-established");
        CommandLine.Parsed p = CommandLine.parse(new String[] {"--config", cli.toString(), "check"}, envWith(true));
        assertEquals("c.log", p.options().logFile);
        assertEquals(10, p.options().timeout);
        assertEquals(1 << 20, p.options().ghostLimit);
        assertTrue(p.options().tcpEstablished);
        assertEquals(List.of(env.toString(), cli.toString()), p.configsRead());
        CommandLine.Parsed q = CommandLine.parse(new String[] {"check", "--config=" + cli}, envWith(false));
        assertEquals(List.of(cli.toString()), q.configsRead());
    }

    @Test
    void noDefaultConfig() throws IOException {
        write(global, "timeout 1");
        write(user(), "timeout 2");
        CommandLine.Parsed p = CommandLine.parse(new String[] {"check", "--no-default-config"}, envWith(false));
        assertEquals(10, p.options().timeout);
        assertEquals(List.of(), p.configsRead());
    }

    @Test
    void missingDefaultFilesAreSkippedButNamedOnesAreErrors() {
        assertEquals(List.of(), CommandLine.parse(new String[] {"check"}, envWith(false)).configsRead());
        assertEquals("can't read config file " + env + " given by CRIU_CONFIG_FILE: no such file",
                assertThrows(UsageException.class, () -> CommandLine.parse(new String[] {"check"}, envWith(true))).getMessage());
        assertEquals("can't read config file " + cli + " given by --config: no such file",
                assertThrows(UsageException.class,
                        () -> CommandLine.parse(new String[] {"--config", cli.toString(), "check"}, envWith(false))).getMessage());
    }

    @Test
    void errorsNameTheFileAndLine() throws IOException {
        write(global, "# first", "tcp-establish", "bogus-option");
        assertEquals("unknown option 'bogus-option' in " + global + " line 3",
                assertThrows(UsageException.class, () -> CommandLine.parse(new String[] {"check"}, envWith(false))).getMessage());
        write(global, "dump");
        assertEquals("unknown option 'dump' in " + global + " line 1",
                assertThrows(UsageException.class, () -> CommandLine.parse(new String[] {"check"}, envWith(false))).getMessage());
        write(global, "tree");
        assertEquals("option 'tree' in " + global + " line 1 requires an argument",
                assertThrows(UsageException.class, () -> CommandLine.parse(new String[] {"check"}, envWith(false))).getMessage());
        write(global, "tcp-established yes");
        assertEquals("in " + global + " line 1: unexpected word 'yes' (config files hold one option per line, commands are not allowed)",
                assertThrows(UsageException.class, () -> CommandLine.parse(new String[] {"check"}, envWith(false))).getMessage());
        write(global, "config /x");
        assertEquals("in " + global + " line 1: 'config' is only allowed on the command line",
                assertThrows(UsageException.class, () -> CommandLine.parse(new String[] {"check"}, envWith(false))).getMessage());
    }

    @Test
    void helpWinsOverBrokenConfig() throws IOException {
        write(global, "bogus-option");
        assertTrue(CommandLine.parse(new String[] {"dump", "--help"}, envWith(false)).help());
        assertTrue(CommandLine.parse(new String[] {"-h"}, envWith(false)).help());
    }

    @Test
    void versionInArgvAfterGoodConfig() throws IOException {
        write(global, "tcp-established");
        assertTrue(CommandLine.parse(new String[] {"-V"}, envWith(false)).version());
    }

    @Test
    void configWithHelpOrVersion() throws IOException {
        write(global, "version");
        assertTrue(CommandLine.parse(new String[] {"dump", "--bogus"}, envWith(false)).version());
    }

    @Test
    void userFileNeedsHome() throws IOException {
        write(user(), "timeout 2");
        CommandLine.Parsed p = CommandLine.parse(new String[] {"check"}, new CommandLine.Env(global, null, null));
        assertEquals(10, p.options().timeout);
    }
}

package org.jcriu.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.Test;

class ConfigFileTest {
    static List<String> texts(String... lines) {
        return ConfigFile.parse("test.conf", List.of(lines)).stream().map(ArgParser.Token::text).toList();
    }

    @Test
    void manualExample() {
        assertEquals(List.of("--tcp-established", "--work-dir", "/home/USERNAME/criu/my \"work\" directory",
                "--no-restore-sibling"), texts(
                "tcp-established",
                "work-dir \"/home/USERNAME/criu/my \\\"work\\\" directory\"",
                "#this is a comment",
                "no-restore-sibling   # this is another comment"));
    }

    @Test
    void whitespaceEmptyLinesAndEmptyQuotes() {
        assertEquals(List.of("--log-file", "", "--tree", "12"), texts("", "   log-file \"\"", "\t tree\t12  ", "   "));
    }

    @Test
    void otherBackslashesAreLiteral() {
        assertEquals(List.of("--root", "C:\\dir\\n"), texts("root \"C:\\dir\\n\""));
    }

    @Test
    void tokensRememberTheirLine() {
        List<ArgParser.Token> t = ConfigFile.parse("x.conf", List.of("# c", "tree 1"));
        assertEquals("x.conf line 2", t.get(1).origin());
    }

    @Test
    void unterminatedQuoteIsAnError() {
        assertEquals("in x.conf line 1: unterminated quote",
                assertThrows(UsageException.class, () -> ConfigFile.parse("x.conf", List.of("root \"/a b"))).getMessage());
    }
}

package org.jcriu.crit;

/**
 * Placeholder for the table {@link Schema} reads: the build (SchemaGen, process-classes)
 * overwrites this class's class file with one whose {@code text()} returns the table as string
 * constants. Compiled alone (an IDE, javac), it returns nothing and jcrit decodes through
 * protobuf-java instead, with the same output.
 */
final class SchemaText {
    private SchemaText() {
    }

    static String text() {
        return "";
    }
}

package org.jcriu.cli;

import org.jcriu.CriuException;

/** A bad invocation: unknown option, missing or malformed argument, unknown command. Exit 1. */
final class UsageException extends CriuException {
    UsageException(String message) {
        super(message);
    }
}

package org.jcriu.action;

import org.jcriu.CriuException;

/**
 * An {@code --action-script} failed. {@link #exitCode()} is what {@code criu} exits with: 255
 * when post-dump failed (cr_dump_finish returns WEXITSTATUS of run_scripts' -1, whatever the
 * script's own status), 1 for every other action, as for any error.
 */
public final class ScriptFailed extends CriuException {
    private final int exitCode;

    ScriptFailed(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}

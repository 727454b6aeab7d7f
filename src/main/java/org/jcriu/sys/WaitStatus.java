package org.jcriu.sys;

/** A wait4() result: which task, and its raw status word decoded as the W* macros do. */
public record WaitStatus(int pid, int raw) {
    public boolean exited() {
        return (raw & 0x7f) == 0;
    }

    public int exitCode() {
        return (raw >> 8) & 0xff;
    }

    public boolean signaled() {
        return (raw & 0x7f) != 0 && (raw & 0xff) != 0x7f;
    }

    public int termSig() {
        return raw & 0x7f;
    }

    public boolean stopped() {
        return (raw & 0xff) == 0x7f;
    }

    public int stopSig() {
        return (raw >> 8) & 0xff;
    }

    /** PTRACE_EVENT_* of a ptrace-event stop, 0 otherwise. */
    public int event() {
        return stopped() ? raw >>> 16 : 0;
    }

    /** The shell's convention: the exit code, or 128+signal. */
    public int shellStatus() {
        return exited() ? exitCode() : signaled() ? 128 + termSig() : -1;
    }

    @Override
    public String toString() {
        if (exited()) return "exited with " + exitCode();
        if (signaled()) return "killed by signal " + termSig();
        if (stopped()) return "stopped by signal " + stopSig() + (event() != 0 ? " (ptrace event " + event() + ")" : "");
        return String.format("status 0x%x", raw);
    }
}

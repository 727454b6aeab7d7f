package org.jcriu.mem;

import java.lang.foreign.MemorySegment;

/** Copies local bytes into the restored task's memory (process_vm_writev, or /proc/PID/mem). */
@FunctionalInterface
public interface RemoteWrite {
    /** Writes {@code local} at {@code remote}; returns the number of bytes the kernel copied. */
    long write(MemorySegment local, long remote);
}

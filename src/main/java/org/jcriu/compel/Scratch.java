package org.jcriu.compel;

/**
 * A writable buffer in the task's memory for injected syscalls' arguments (paths, structs,
 * out-parameters). Closing it puts back what was there before, so a dumped task's memory ends
 * exactly as it was.
 */
public final class Scratch implements AutoCloseable {
    private final Task task;
    private final long addr;
    private final int len;
    private final byte[] saved;
    private boolean closed;

    Scratch(Task task, long addr, int len, byte[] saved) {
        this.task = task;
        this.addr = addr;
        this.len = len;
        this.saved = saved;
    }

    public long addr() {
        return addr;
    }

    public int len() {
        return len;
    }

    /** Writes {@code data} at {@code offset} and returns its remote address. */
    public long put(int offset, byte[] data) {
        if (offset + data.length > len) throw new IllegalArgumentException("scratch overflow");
        task.write(addr + offset, data);
        return addr + offset;
    }

    /** A NUL-terminated string at {@code offset}; returns its remote address. */
    public long putString(int offset, String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] z = java.util.Arrays.copyOf(b, b.length + 1);
        return put(offset, z);
    }

    public byte[] get(int offset, int n) {
        return task.read(addr + offset, n);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        task.releaseScratch(this, saved);
    }
}

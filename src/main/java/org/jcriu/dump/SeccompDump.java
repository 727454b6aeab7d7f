package org.jcriu.dump;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.compel.Ptrace;
import org.jcriu.image.proto.SeccompEntry;
import org.jcriu.image.proto.SeccompFilter;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * seccomp filters of every thread, read with PTRACE_SECCOMP_GET_FILTER (index 0 is the newest
 * filter of the thread, each further index one step towards the first one installed) and
 * PTRACE_SECCOMP_GET_METADATA for their flags. Threads that inherited the same filters share
 * them in seccomp.img: a filter is identified by its program and the chain before it. Strict
 * mode is refused: once set, a task can make no syscall but read, write, exit and sigreturn,
 * which leaves nothing to restore it with.
 */
final class SeccompDump {
    private static final int PTRACE_SECCOMP_GET_FILTER = 0x420c, PTRACE_SECCOMP_GET_METADATA = 0x420d;
    /** TSYNC is how a filter was installed, not a property of it; the restore installs per thread. */
    private static final long SECCOMP_FILTER_FLAG_TSYNC = 1;

    private final List<SeccompFilter> filters = new ArrayList<>();
    private final Map<String, Integer> byChain = new HashMap<>();

    /**
     * The index in seccomp.img of {@code tid}'s newest filter, or -1 when it has none; {@code mode}
     * is the Seccomp field of the thread's /proc status.
     */
    int collect(int pid, int tid, int mode) {
        if (mode == 0) return -1;
        if (mode == 1) throw new CriuException("Can't dump task " + pid + ": thread " + tid + " runs in seccomp strict mode, which is not supported");
        List<byte[]> progs = new ArrayList<>();
        List<Long> flags = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment meta = a.allocate(16, 8);
            for (long i = 0; ; i++) {
                long n;
                try {
                    n = Ptrace.request(PTRACE_SECCOMP_GET_FILTER, tid, i, 0, "PTRACE_SECCOMP_GET_FILTER");
                } catch (ErrnoException e) {
                    if (e.errno() == Errno.ENOENT) break;
                    throw new CriuException(e.errno(), "Can't read seccomp filter " + i + " of thread " + tid + ": " + e.getMessage(), e);
                }
                MemorySegment buf = a.allocate(n * 8, 8);
                Ptrace.request(PTRACE_SECCOMP_GET_FILTER, tid, i, buf.address(), "PTRACE_SECCOMP_GET_FILTER");
                progs.add(buf.toArray(JAVA_BYTE));
                meta.set(JAVA_LONG, 0, i);
                meta.set(JAVA_LONG, 8, 0);
                Ptrace.request(PTRACE_SECCOMP_GET_METADATA, tid, 16, meta.address(), "PTRACE_SECCOMP_GET_METADATA");
                flags.add(meta.get(JAVA_LONG, 8) & ~SECCOMP_FILTER_FLAG_TSYNC);
            }
        }
        if (progs.isEmpty()) throw new CriuException("Thread " + tid + " of task " + pid + " is in seccomp filter mode without filters");
        // oldest first, so that each filter's prev is already numbered
        int prev = -1;
        StringBuilder chain = new StringBuilder();
        for (int k = progs.size() - 1; k >= 0; k--) {
            chain.append(java.util.HexFormat.of().formatHex(progs.get(k))).append('/').append(flags.get(k)).append(';');
            Integer idx = byChain.get(chain.toString());
            if (idx == null) {
                SeccompFilter.Builder f = SeccompFilter.newBuilder().setFilter(com.google.protobuf.ByteString.copyFrom(progs.get(k)));
                if (prev >= 0) f.setPrev(prev);
                if (flags.get(k) != 0) f.setFlags((int) (long) flags.get(k));
                filters.add(f.build());
                idx = filters.size() - 1;
                byChain.put(chain.toString(), idx);
            }
            prev = idx;
        }
        return prev;
    }

    SeccompEntry image() {
        return SeccompEntry.newBuilder().addAllSeccompFilters(filters).build();
    }
}

package org.jcriu.restore;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.jcriu.CriuException;
import org.jcriu.compel.Scratch;
import org.jcriu.compel.Task;
import org.jcriu.image.proto.AioRingEntry;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;

/**
 * AIO rings (io_setup) of a restored task. A ring is kernel memory shared with the task, tied to
 * an in-kernel context: it cannot be mapped from the image. The dumped ring's pages are first
 * written into a private anonymous stand-in at the ring's address (MemoryRestorer maps it like
 * any VMA), then, as CRIU's restorer does: a new context of the same size is set up, its tail is
 * moved where the dumped one was by completing that many one-byte writes to /dev/null (the
 * kernel keeps the tail to itself) while its head follows the dumped head, the completed events
 * are copied in, and the new ring is moved over the stand-in with mremap, which also renames the
 * context: the kernel's aio_ring_mremap makes the ring's new address its id, so the task's
 * aio_context_t stays valid.
 */
final class AioRings {
    /** struct aio_ring: id, nr, head, tail, magic, compat_features, incompat_features, header_length. */
    static final int HEADER = 32, EVENT = 32, IOCB = 64;
    private static final int IOCB_CMD_PWRITE = 1;

    private AioRings() {}

    static void restore(Task task, AioRingEntry e, int pid) {
        long addr = e.getId(), len = e.getRingLen();
        ByteBuffer old = ByteBuffer.wrap(task.read(addr, HEADER)).order(ByteOrder.LITTLE_ENDIAN);
        int nr = old.getInt(4), head = old.getInt(8), tail = old.getInt(12);
        long ctx;
        try (Scratch s = task.scratch(8)) {
            s.put(0, new byte[8]);
            task.syscall(Nr.IO_SETUP, e.getNrReq(), s.addr());
            ctx = ByteBuffer.wrap(s.get(0, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        } catch (ErrnoException ex) {
            throw new CriuException(ex.errno(), String.format("io_setup(%d) for the AIO ring at 0x%x of task %d: %s", e.getNrReq(),
                    addr, pid, ex.getMessage()), ex);
        }
        int newNr = ByteBuffer.wrap(task.read(ctx + 4, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
        long expect = (len - HEADER) / EVENT;
        if (nr != expect || newNr != nr || Integer.compareUnsigned(head, nr) >= 0 || Integer.compareUnsigned(tail, nr) >= 0) {
            throw new CriuException(String.format("AIO ring at 0x%x of task %d can't be rebuilt: dumped nr %d head %d tail %d, "
                    + "%d events fit its %d bytes, io_setup(%d) made a ring of %d", addr, pid, nr, head, tail, expect, len,
                    e.getNrReq(), newNr));
        }
        if (head != 0 || tail != 0) moveTail(task, ctx, nr, head, tail);
        task.write(ctx + HEADER, task.read(addr + HEADER, (int) (len - HEADER)));
        long r = task.syscall(Nr.MREMAP, ctx, len, len, Linux.MREMAP_MAYMOVE | Linux.MREMAP_FIXED, addr);
        if (r != addr) throw new CriuException(String.format("AIO ring of task %d moved to 0x%x, not 0x%x", pid, r, addr));
    }

    /**
     * Completes {@code count} writes so that the kernel's tail lands on the dumped one (a full
     * turn first when the tail had wrapped below the head, or the kernel's count of completed
     * events would be off); the head is set along the way, as io_getevents would.
     */
    private static void moveTail(Task task, long ctx, int nr, int head, int tail) {
        int count = Integer.compareUnsigned(tail, head) < 0 ? nr + tail : tail;
        int max = Math.min(count, nr - 1);
        int fd = Remote.open(task, "/dev/null", Linux.O_WRONLY | Linux.O_CLOEXEC);
        try (Scratch s = task.scratch(IOCB + 8 + 8 * max)) {
            long iocb = s.addr(), buf = iocb + IOCB, array = buf + 8;
            ByteBuffer cb = ByteBuffer.allocate(IOCB).order(ByteOrder.LITTLE_ENDIAN);
            cb.putShort(16, (short) IOCB_CMD_PWRITE).putInt(20, fd).putLong(24, buf).putLong(32, 1);
            s.put(0, cb.array());
            ByteBuffer ptrs = ByteBuffer.allocate(8 * max).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < max; i++) ptrs.putLong(iocb);
            s.put(IOCB + 8, ptrs.array());
            int done = 0;
            while (done < count) {
                long n = task.syscall(Nr.IO_SUBMIT, ctx, Math.min(count - done, max), array);
                if (n <= 0) throw new CriuException("io_submit into the new AIO ring at 0x" + Long.toHexString(ctx) + " submitted nothing");
                done += (int) n;
                // setting head frees ring slots for the next batch, exactly as reaping them would
                int h = Math.min(done, head);
                task.write(ctx + 8, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(h).array());
            }
        } catch (ErrnoException ex) {
            throw new CriuException(ex.errno(), "io_submit into the new AIO ring at 0x" + Long.toHexString(ctx) + ": " + ex.getMessage(), ex);
        } finally {
            Remote.close(task, fd);
        }
        // the writes complete synchronously for /dev/null, but check: the tail is the kernel's
        int t = ByteBuffer.wrap(task.read(ctx + 12, 4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (t != tail) {
            throw new CriuException(String.format("AIO ring tail is %d after %d writes, not the dumped %d", t, count, tail));
        }
    }
}

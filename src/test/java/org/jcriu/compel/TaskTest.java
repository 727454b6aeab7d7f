package org.jcriu.compel;

import org.jcriu.CriuException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;
import org.jcriu.testing.TracedChildren;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Seizing and injecting into real processes. */
class TaskTest {
    @RegisterExtension
    final TracedChildren children = new TracedChildren();
    private final Tracer tracer = children.tracer();

    private int spawnSleep() {
        // Spawned from the tracer thread so the child is ours to reap there.
        int pid = children.spawnSleep();
        waitState(pid, "S");
        return pid;
    }

    private static void waitState(int pid, String state) {
        for (int i = 0; i < 200; i++) {
            String s = Task.statusField(pid, "State");
            if (s != null && s.startsWith(state)) return;
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        throw new AssertionError("pid " + pid + " never reached state " + state + ": " + Task.statusField(pid, "State"));
    }

    @Test
    void injectedGetpidAnswersAndDetachLeavesTaskUntouched() {
        int pid = spawnSleep();
        String mapsBefore = Sys.readString("/proc/" + pid + "/maps");
        tracer.run(() -> {
            Task t = Task.seize(tracer, pid);
            Regs before = t.regs();
            assertEquals(pid, t.syscall(Nr.GETPID));
            assertEquals(pid, t.syscall(Nr.GETTID));
            assertEquals(before, t.regs(), "saved registers are not changed by injections");
            t.detach();
        });
        waitState(pid, "S");
        assertEquals("0", Task.statusField(pid, "TracerPid"));
        assertEquals(mapsBefore, Sys.readString("/proc/" + pid + "/maps"));
        assertEquals(0, vdsoAnonKb(pid), "injection wrote into the vDSO (a private copy of it exists now)");
        // the interrupted clock_nanosleep restarts through restart_syscall (219)
        String sc = Sys.readString("/proc/" + pid + "/syscall").split(" ")[0];
        assertTrue(sc.equals("219") || sc.equals("230"), "syscall after detach: " + sc);
    }

    @Test
    void failingInjectedSyscallThrowsWithErrnoName() {
        int pid = spawnSleep();
        tracer.run(() -> {
            try (Task t = Task.seize(tracer, pid)) {
                CriuException e = assertThrows(CriuException.class, () -> t.syscall(Nr.CLOSE, 12345));
                assertTrue(e.getMessage().contains("EBADF"), e.getMessage());
                assertTrue(e.getMessage().contains("close"), e.getMessage());
            }
        });
        waitState(pid, "S");
        assertEquals("0", Task.statusField(pid, "TracerPid"));
    }

    @Test
    void scratchOnStackIsPutBack() {
        int pid = spawnSleep();
        tracer.run(() -> {
            try (Task t = Task.seize(tracer, pid)) {
                long rsp = t.regs().rsp();
                byte[] orig = t.read(rsp - 4096, 4096);
                try (Scratch s = t.scratch(256)) {
                    long p = s.putString(0, "/proc/self/comm");
                    int fd = (int) t.syscall(Nr.OPENAT, Linux.AT_FDCWD, p, Linux.O_RDONLY);
                    long n = t.syscall(Nr.READ, fd, s.addr() + 64, 64);
                    t.syscall(Nr.CLOSE, fd);
                    assertEquals("sleep\n", new String(s.get(64, (int) n), StandardCharsets.US_ASCII));
                }
                assertArrayEquals(orig, t.read(rsp - 4096, 4096));
            }
        });
    }

    @Test
    void gadgetAndClone3WithSetTid() {
        int pid = spawnSleep();
        int want = freePid();
        tracer.run(() -> {
            Task t = Task.seize(tracer, pid, Ptrace.O_TRACECLONE | Ptrace.O_EXITKILL);
            long g = t.mapGadget(0x7e0000000000L);
            assertEquals(0x7e0000000000L, g);
            assertTrue(Sys.readString("/proc/" + pid + "/maps").contains("7e0000000000-7e0000004000 rwxp"));
            ByteBuffer ca = ByteBuffer.allocate(Linux.CLONE_ARGS_SIZE_VER2).order(ByteOrder.LITTLE_ENDIAN);
            try (Scratch s = t.scratch(128)) {
                long tidArr = s.put(96, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(want).array());
                ca.putLong(0, Linux.CLONE_PARENT);      // flags
                ca.putLong(32, 0);                       // exit_signal: 0 with CLONE_PARENT
                ca.putLong(64, tidArr);                  // set_tid
                ca.putLong(72, 1);                       // set_tid_size
                s.put(0, ca.array());
                long child = t.syscall(Nr.CLONE3, s.addr(), Linux.CLONE_ARGS_SIZE_VER2);
                assertEquals(want, child);
            }
            assertEquals(List.of(want), t.newChildren());
            Task c = Task.adopt(tracer, want);
            assertEquals(want, c.syscall(Nr.GETPID));
            assertEquals(Sys.getpid(), c.syscall(Nr.GETPPID), "CLONE_PARENT makes the clone our child");
            c.kill();
            t.unmapGadget();
            assertTrue(!Sys.readString("/proc/" + pid + "/maps").contains("7e0000000000"));
            t.detach();
        });
        waitState(pid, "S");
    }

    @Test
    void seizingAMissingTaskSaysSo() {
        CriuException e = tracer.call(() -> assertThrows(CriuException.class, () -> Task.seize(tracer, 0x3ffffff)));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    /** Anonymous kB of the vDSO mapping: non-zero once anything wrote into it (copy on write). */
    private static int vdsoAnonKb(int pid) {
        String smaps = Sys.readString("/proc/" + pid + "/smaps");
        int at = smaps.indexOf("[vdso]");
        int a = smaps.indexOf("\nAnonymous:", at);
        String v = smaps.substring(a + 11, smaps.indexOf("kB", a)).trim();
        return Integer.parseInt(v);
    }

    @Test
    void clonedChildInheritsTheGadgetAndUnmapGadgetLeavesTheVdsoAlone() {
        int pid = spawnSleep();
        int want = freePid();
        tracer.run(() -> {
            Task t = Task.seize(tracer, pid, Ptrace.O_TRACECLONE | Ptrace.O_EXITKILL);
            t.mapGadget(0x7e0000000000L);
            try (Scratch s = t.scratch(128)) {
                ByteBuffer ca = ByteBuffer.allocate(Linux.CLONE_ARGS_SIZE_VER2).order(ByteOrder.LITTLE_ENDIAN);
                long tidArr = s.put(96, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(want).array());
                ca.putLong(0, Linux.CLONE_PARENT);
                ca.putLong(64, tidArr);
                ca.putLong(72, 1);
                s.put(0, ca.array());
                assertEquals(want, t.syscall(Nr.CLONE3, s.addr(), Linux.CLONE_ARGS_SIZE_VER2));
            }
            Task c = Task.adopt(tracer, want, t);
            assertEquals(0x7e0000000000L, c.gadget());
            assertEquals(want, c.syscall(Nr.GETPID));
            c.unmapGadget();
            assertTrue(!Sys.readString("/proc/" + want + "/maps").contains("7e0000000000"));
            assertEquals(want, c.syscall(Nr.GETPID), "injection from the vDSO's own syscall instruction");
            assertEquals(0, vdsoAnonKb(want));
            c.kill();
            t.unmapGadget();
            t.detach();
        });
        assertEquals(0, vdsoAnonKb(pid));
    }

    /** A pid nobody holds, some way ahead of the kernel's last one, wrapping past pid_max as the kernel does. */
    private static int freePid() {
        int last = Integer.parseInt(Sys.readString("/proc/sys/kernel/ns_last_pid").trim());
        int max = Integer.parseInt(Sys.readString("/proc/sys/kernel/pid_max").trim());
        int span = max - 300;
        for (int i = 0; i < span; i++) {
            int p = 300 + Math.floorMod(last + 500 - 300 + i, span);
            if (!new java.io.File("/proc/" + p).exists()) return p;
        }
        throw new AssertionError("no free pid");
    }
}

package org.jcriu.service;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.jcriu.cgroup.TestCgroup;
import org.jcriu.testing.ProcState;
import org.jcriu.testing.Workload;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * runc, crun and Podman always send manage_cgroups (and freeze_cgroup): pycriu over swrk dumps a
 * task from its own cgroup with manage_cgroups=true, the cgroup is removed, and a restore with
 * manage_cgroups=true (soft) creates it again with its limit and puts the task back.
 */
class CgroupRpcIT {
    @TempDir Path tmp;
    private int restored;

    @AfterEach
    void kill() {
        if (restored > 0) ProcState.kill9(restored);
    }

    @Test
    void manageCgroupsDumpAndRestoreThroughSwrk() throws Exception {
        PyCriu.assumeAvailable();
        try (TestCgroup t = TestCgroup.create("jcriu-rpc-" + ProcessHandle.current().pid(), "pids", "freezer");
                Workload w = Workload.sleep(tmp.resolve("w"))) {
            t.write("pids", "pids.max", "19");
            t.add(w.pid());
            Path img = Files.createDirectories(tmp.resolve("img"));
            String jc = PyCriu.jcriu().toString();
            String r = PyCriu.run(tmp, jc, "dump", img.toString(), String.valueOf(w.pid()), "manage_cgroups",
                    "freeze_cgroup=" + t.ctl("freezer").dir());
            assertEquals("true", PyCriu.field(r, "success"), r + "\n" + Files.readString(img.resolve("dump.log")));
            w.waitGone(Duration.ofSeconds(10));
            assertTrue(Files.exists(img.resolve("cgroup.img")));
            t.removeDirs();
            String rr = PyCriu.run(tmp, jc, "restore", img.toString(), "manage_cgroups");
            assertEquals("true", PyCriu.field(rr, "success"), rr + "\n" + Files.readString(img.resolve("restore.log")));
            restored = Integer.parseInt(PyCriu.field(rr, "pid"));
            assertEquals(w.pid(), restored);
            assertEquals("19", t.read("pids", "pids.max"));
            assertEquals(t.ctl("pids").path(), t.pathOf(restored, "pids"));
            assertEquals(t.ctl("freezer").path(), t.pathOf(restored, "freezer"));
        }
    }

    /** manage_cgroups_mode wins over manage_cgroups (STRICT = 5): an existing cgroup fails the restore with CRIU's reason. */
    @Test
    void manageCgroupsModeStrictRefusesAnExistingCgroup() throws Exception {
        PyCriu.assumeAvailable();
        try (TestCgroup t = TestCgroup.create("jcriu-rpcstrict-" + ProcessHandle.current().pid(), "pids");
                Workload w = Workload.sleep(tmp.resolve("w"))) {
            t.add(w.pid());
            Path img = Files.createDirectories(tmp.resolve("img"));
            String jc = PyCriu.jcriu().toString();
            String r = PyCriu.run(tmp, jc, "dump", img.toString(), String.valueOf(w.pid()), "manage_cgroups");
            assertEquals("true", PyCriu.field(r, "success"), r);
            w.waitGone(Duration.ofSeconds(10));
            String rr = PyCriu.run(tmp, jc, "restore", img.toString(), "manage_cgroups", "manage_cgroups_mode=5");
            assertEquals("false", PyCriu.field(rr, "success"), rr);
            assertTrue(PyCriu.field(rr, "cr_errmsg").contains("Abort restore of existing cgroup " + t.ctl("pids").dir()), rr);
            assertFalse(w.alive());
        }
    }
}

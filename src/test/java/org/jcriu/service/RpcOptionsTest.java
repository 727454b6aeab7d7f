package org.jcriu.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.jcriu.CriuException;
import org.jcriu.image.proto.CriuCgMode;
import org.jcriu.image.proto.CriuOpts;
import org.jcriu.opts.Options;
import org.jcriu.sys.Errno;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;

/** Every criu_opts field is applied as its command-line option or refused by name. */
class RpcOptionsTest {
    @TempDir
    Path tmp;
    int dirFd;
    final Peer self = new Peer(Sys.getpid(), 0, 0);

    @BeforeEach
    void openDir() {
        dirFd = Sys.open(tmp.toString(), Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
    }

    @AfterEach
    void closeDir() {
        Sys.close(dirFd);
    }

    static Options opts(String command) {
        Options o = new Options();
        o.command = command;
        return o;
    }

    CriuOpts.Builder base() {
        return CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(tmp.toString());
    }

    /** A value different from CRIU's default, for any field. */
    Object sample(FieldDescriptor f, Message.Builder parent) {
        return switch (f.getJavaType()) {
            case BOOLEAN -> true;
            case INT, LONG -> f.getName().endsWith("_fd") ? (Object) dirFd : (Object) 1;
            case STRING -> f.getName().equals("log_file") ? "x.log" : "/tmp";
            case ENUM -> f.getEnumType().getValues().get(1);
            case MESSAGE -> {
                Message.Builder b = parent.newBuilderForField(f);
                for (FieldDescriptor g : b.getDescriptorForType().getFields()) {
                    if (g.isRequired() || g.getName().equals("address")) b.setField(g, sample(g, b));
                }
                yield b.build();
            }
            default -> throw new AssertionError(f.getJavaType());
        };
    }

    @Test
    void everyFieldIsAppliedOrRefusedByName() {
        List<String> refused = new ArrayList<>();
        for (FieldDescriptor f : CriuOpts.getDescriptor().getFields()) {
            CriuOpts.Builder b = base();
            Object v = sample(f, b);
            if (f.isRepeated()) b.addRepeatedField(f, v);
            else b.setField(f, v);
            Options o = opts("dump");
            try {
                RpcOptions.apply(b.build(), o, self, true);
            } catch (CriuException e) {
                assertFalse(e.getMessage().contains("not known"), f.getName() + ": " + e.getMessage());
                assertTrue(e.getMessage().contains(f.getName()) || e.getMessage().contains("only CLONE_NEWNET")
                        || e.getMessage().contains("bad RPC options"), f.getName() + ": " + e.getMessage());
                assertEquals(Errno.EBADRQC, e.errno(), f.getName());
                refused.add(f.getName());
            }
        }
        System.out.println("refused today: " + refused);
        // implemented today, so not refused: the fields that only steer the RPC itself
        for (String n : List.of("images_dir_fd", "images_dir", "work_dir_fd", "log_level", "log_file", "log_to_stderr",
                "notify_scripts", "pid", "config_file", "exec_cmd")) {
            assertFalse(refused.contains(n), n + " refused: " + refused);
        }
        assertTrue(refused.contains("pidfd_store_sk"));
        assertFalse(refused.contains("orphan_pts_master"), "orphan_pts_master is honoured");
        Options r = opts("restore");
        RpcOptions.apply(base().setOrphanPtsMaster(true).build(), r, self, true);
        assertTrue(r.orphanPtsMaster, "restore reads orphan_pts_master");
        Options d = opts("dump");
        RpcOptions.apply(base().setOrphanPtsMaster(true).build(), d, self, true);
        assertTrue(d.orphanPtsMaster, "dump reads orphan_pts_master too (a slave without its master is then allowed)");
    }

    @Test
    void falseBooleansAndDefaultsAskForNothing() {
        CriuOpts.Builder b = base().setPid(42).setShellJob(false).setTcpEstablished(false).setManageCgroups(false)
                .setManageCgroupsMode(CriuCgMode.DEFAULT).setGhostLimit(1 << 20).setLogLevel(2);
        b.clearManageCgroupsMode();
        b.clearManageCgroups();
        Options o = opts("dump");
        RpcOptions.apply(b.setShellJob(false).build(), o, self, true);
        assertEquals(42, o.pid);
        assertFalse(o.shellJob);
    }

    @Test
    void pidBecomesTheTreeAndLogGoesToTheImagesDir() {
        Options o = opts("dump");
        RpcOptions.LogSetup log = RpcOptions.apply(base().setPid(1234).setLogLevel(4).setLogFile("dump.log").build(), o, self, true);
        assertEquals(1234, o.pid);
        assertEquals(tmp.resolve("dump.log"), log.file());
        assertEquals(4, log.level());
        assertEquals(tmp, o.imagesDir);
        assertEquals(tmp, o.workDir);
    }

    @Test
    void imagesDirFdIsTheClientsFdThroughProc() {
        Options o = opts("restore");
        RpcOptions.apply(CriuOpts.newBuilder().setImagesDirFd(dirFd).build(), o, self, true);
        assertEquals(tmp.toAbsolutePath(), o.imagesDir);
        assertEquals(tmp.resolve(RpcOptions.DEFAULT_LOG).toString(), o.logFile);
    }

    @Test
    void closedImagesDirFdIsNamed() {
        CriuException e = assertThrows(CriuException.class,
                () -> RpcOptions.apply(CriuOpts.newBuilder().setImagesDirFd(999).build(), opts("restore"), self, true));
        assertTrue(e.getMessage().contains("images_dir_fd 999"), e.getMessage());
    }

    @Test
    void logFileWithSlashIsRefused() {
        CriuException e = assertThrows(CriuException.class,
                () -> RpcOptions.apply(base().setLogFile("../x.log").build(), opts("dump"), self, true));
        assertTrue(e.getMessage().contains("No subdirs are allowed in log_file"), e.getMessage());
    }

    @Test
    void logToStderrHasNoFile() {
        RpcOptions.LogSetup log = RpcOptions.apply(base().setLogToStderr(true).build(), opts("dump"), self, true);
        assertNull(log.file());
    }

    @Test
    void emptyNsOtherThanNetIsRefused() {
        CriuException e = assertThrows(CriuException.class,
                () -> RpcOptions.apply(base().setEmptyNs(0x20000000).build(), opts("dump"), self, true));
        assertEquals(Errno.EBADRQC, e.errno());
    }

    @Test
    void inheritFdOnlyForSwrk() {
        CriuOpts r = base().addInheritFd(org.jcriu.image.proto.InheritFd.newBuilder().setKey("pipe:[1]").setFd(4)).build();
        CriuException e = assertThrows(CriuException.class, () -> RpcOptions.apply(r, opts("restore"), self, false));
        assertTrue(e.getMessage().contains("inherit_fd is not allowed in standalone service"), e.getMessage());
        Options o = opts("restore");
        RpcOptions.apply(r, o, self, true);
        assertEquals(List.of("fd[4]:pipe:[1]"), o.inheritFd);
    }

    @Test
    void configFileOverridesTheRequest() throws Exception {
        Path cfg = tmp.resolve("rpc.conf");
        Files.writeString(cfg, "log-file cfg.log\nshell-job\n");
        Options o = opts("restore");
        RpcOptions.LogSetup log = RpcOptions.apply(base().setLogFile("req.log").setConfigFile(cfg.toString()).build(), o, self, true);
        assertEquals(tmp.resolve("cfg.log"), log.file());
        assertTrue(o.shellJob);
    }

    /** rst_sibling makes the root the caller's child: only swrk's caller is ours; a daemon's is not. */
    @Test
    void restoreSiblingIsForSwrkOnlyAlsoFromAConfigFile() throws Exception {
        Path cfg = tmp.resolve("rpc.conf");
        Files.writeString(cfg, "restore-sibling\n");
        Options o = opts("restore");
        RpcOptions.apply(base().setRstSibling(true).build(), o, self, true);
        assertTrue(o.restoreSibling);
        CriuException e = assertThrows(CriuException.class,
                () -> RpcOptions.apply(base().setRstSibling(true).build(), opts("restore"), self, false));
        assertEquals("rst_sibling is not allowed in standalone service", e.getMessage());
        e = assertThrows(CriuException.class,
                () -> RpcOptions.apply(base().setConfigFile(cfg.toString()).build(), opts("restore"), self, false));
        assertEquals("restore-sibling is not allowed in standalone service (config file " + cfg + ")", e.getMessage());
    }

    @Test
    void missingConfigFileIsIgnoredAsCriuDoes() {
        Options o = opts("restore");
        RpcOptions.apply(base().setConfigFile(tmp.resolve("none.conf").toString()).build(), o, self, true);
        assertEquals(tmp, o.imagesDir);
    }

    @Test
    void nonRootClientsNeedTheirOwnDirectory() {
        Peer user = new Peer(Sys.getpid(), 65534, 65534);
        if (Sys.raw(107) != 0) return; // only a root daemon checks
        CriuException e = assertThrows(CriuException.class,
                () -> RpcOptions.apply(base().build(), opts("dump"), user, true));
        assertTrue(e.getMessage().contains("not to the RPC client's uid 65534"), e.getMessage());
    }

    @Test
    void nonRootClientsMayNotDumpOthersProcesses() {
        Peer user = new Peer(Sys.getpid(), 65534, 65534);
        if (Sys.raw(107) != 0) return;
        CriuException e = assertThrows(CriuException.class, () -> user.checkMayDump(1));
        assertEquals(Errno.EPERM, e.errno());
        assertTrue(e.getMessage().contains("task 1 does not belong"), e.getMessage());
    }
}

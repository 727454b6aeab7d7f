package org.jcriu.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.jcriu.image.proto.CriuFeatures;
import org.jcriu.image.proto.CriuOpts;
import org.jcriu.image.proto.CriuReq;
import org.jcriu.image.proto.CriuReqType;
import org.jcriu.image.proto.CriuResp;
import org.jcriu.sys.Errno;

/** The request loop of cr_service_work, driven over a real socketpair. */
class SessionTest {
    @TempDir
    Path tmp;

    static CriuReq req(CriuReqType t, boolean keepOpen) {
        return CriuReq.newBuilder().setType(t).setKeepOpen(keepOpen).build();
    }

    /** go-criu's and runc's formula: a gitid means a development build after the release. */
    static int goCriuVersion(CriuResp r) {
        int v = r.getVersion().getMajorNumber() * 10000 + r.getVersion().getMinorNumber() * 100 + r.getVersion().getSublevel();
        if (r.getVersion().hasGitid()) v = v - v % 100 + 100;
        return v;
    }

    @Test
    void versionIs42AndComputesTo40200() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            CriuResp r = c.call(req(CriuReqType.VERSION, false));
            assertEquals(CriuReqType.VERSION, r.getType());
            assertTrue(r.getSuccess());
            assertEquals(4, r.getVersion().getMajorNumber());
            assertEquals(2, r.getVersion().getMinorNumber());
            assertEquals("jcriu", r.getVersion().getName());
            assertEquals(40200, goCriuVersion(r));
            assertEquals(0, c.exitStatus());
        }
    }

    @Test
    void keepOpenServesSeveralRequestsThenEndsWithTheLastOne() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            assertTrue(c.call(req(CriuReqType.VERSION, true)).getSuccess());
            CriuReq fc = CriuReq.newBuilder().setType(CriuReqType.FEATURE_CHECK).setKeepOpen(true)
                    .setFeatures(CriuFeatures.newBuilder().setMemTrack(true).setLazyPages(true).setPidfdStore(true)).build();
            CriuResp r = c.call(fc);
            assertEquals(CriuReqType.FEATURE_CHECK, r.getType());
            assertTrue(r.getSuccess());
            // all three are always reported; jcriu has none of them yet
            assertTrue(r.getFeatures().hasMemTrack() && r.getFeatures().hasLazyPages() && r.getFeatures().hasPidfdStore());
            assertFalse(r.getFeatures().getPidfdStore());
            assertTrue(c.call(req(CriuReqType.VERSION, false)).getSuccess());
            assertEquals(0, c.exitStatus());
            assertNull(c.receive(), "the session must end after a request without keep_open");
        }
    }

    @Test
    void emptyAndNotifyRequestsAreInvalid() throws Exception {
        for (CriuReqType t : new CriuReqType[] {CriuReqType.EMPTY, CriuReqType.NOTIFY}) {
            try (RpcClient c = new RpcClient(true)) {
                CriuResp r = c.call(req(t, false));
                assertEquals(CriuReqType.EMPTY, r.getType());
                assertFalse(r.getSuccess());
                assertTrue(r.getCrErrmsg().startsWith("Invalid req"), r.getCrErrmsg());
                assertEquals(1, c.exitStatus());
            }
        }
    }

    @Test
    void unknownTypeValueIsAnInvalidRequestNotACrash() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            c.sendRaw(new byte[] {0x08, 0x63}); // type = 99
            CriuResp r = c.receive();
            assertFalse(r.getSuccess());
            assertTrue(r.getCrErrmsg().startsWith("Invalid req"), r.getCrErrmsg());
        }
    }

    @Test
    void garbageGetsAnErrorReply() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            c.sendRaw(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01, 0x02});
            CriuResp r = c.receive();
            assertFalse(r.getSuccess());
            assertEquals(Errno.EBADRQC, r.getCrErrno());
            assertTrue(r.getCrErrmsg().contains("Failed unpacking request"), r.getCrErrmsg());
            assertEquals(1, c.exitStatus());
        }
    }

    @Test
    void oversizedRequestIsRefusedWhole() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            c.sendRaw(new byte[Channel.MAX_REQUEST + 1]);
            CriuResp r = c.receive();
            assertFalse(r.getSuccess());
            assertTrue(r.getCrErrmsg().contains("larger than"), r.getCrErrmsg());
            assertTrue(r.getSerializedSize() < 8192);
        }
    }

    @Test
    void keepOpenIsRefusedForDump() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            CriuResp r = c.call(req(CriuReqType.DUMP, true));
            assertFalse(r.getSuccess());
            assertTrue(r.getCrErrmsg().contains("keep_open is not allowed for DUMP"), r.getCrErrmsg());
            assertEquals(1, c.exitStatus());
        }
    }

    @Test
    void pageServerIsNotSupportedYetButKeepsTheSession() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            CriuResp r = c.call(req(CriuReqType.PAGE_SERVER_CHLD, true));
            assertEquals(CriuReqType.PAGE_SERVER, r.getType());
            assertFalse(r.getSuccess());
            assertEquals(Errno.ENOTSUP, r.getCrErrno());
            assertTrue(r.getCrErrmsg().contains("page-server is not supported"), r.getCrErrmsg());
            assertTrue(c.call(req(CriuReqType.VERSION, false)).getSuccess());
        }
    }

    @Test
    void waitPidOfAStrangerReportsTheErrno() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            CriuResp r = c.call(CriuReq.newBuilder().setType(CriuReqType.WAIT_PID).setPid(1).build());
            assertEquals(CriuReqType.WAIT_PID, r.getType());
            assertFalse(r.getSuccess());
            assertEquals(Errno.ECHILD, r.getCrErrno());
        }
    }

    @Test
    void dumpWithoutImagesDirNamesWhatIsMissing() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            CriuReq d = CriuReq.newBuilder().setType(CriuReqType.DUMP)
                    .setOpts(CriuOpts.newBuilder().setImagesDirFd(-1).setPid(1)).build();
            CriuResp r = c.call(d);
            assertEquals(CriuReqType.DUMP, r.getType());
            assertFalse(r.getSuccess());
            assertEquals(Errno.EBADRQC, r.getCrErrno());
            assertTrue(r.getCrErrmsg().contains("Neither images_dir_fd nor images_dir"), r.getCrErrmsg());
        }
    }

    /** Here the client is this JVM, which runs the session too: a self-dump would dump jcriu itself. */
    @Test
    void selfDumpOfJcriusOwnProcessIsRefusedClearly() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            CriuReq d = CriuReq.newBuilder().setType(CriuReqType.DUMP)
                    .setOpts(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(tmp.toString()).setLogFile("d.log")).build();
            CriuResp r = c.call(d);
            assertFalse(r.getSuccess());
            assertEquals(CriuReqType.DUMP, r.getType());
            assertFalse(r.getDump().getRestored());
            assertEquals(Errno.EINVAL, r.getCrErrno());
            assertTrue(r.getCrErrmsg().contains("jcriu's own process"), r.getCrErrmsg());
            assertTrue(Files.exists(tmp.resolve("d.log")), "the request's log must be in the images dir");
        }
    }

    @Test
    void selfDumpWithNotificationsIsRefused() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            CriuReq d = CriuReq.newBuilder().setType(CriuReqType.DUMP).setOpts(CriuOpts.newBuilder().setImagesDirFd(-1)
                    .setImagesDir(tmp.toString()).setNotifyScripts(true)).build();
            CriuResp r = c.call(d);
            assertFalse(r.getSuccess());
            assertEquals(Errno.EBADRQC, r.getCrErrno());
            assertTrue(r.getCrErrmsg().contains("notify_scripts is not supported with a self-dump"), r.getCrErrmsg());
        }
    }

    @Test
    void preDumpFollowedByAnythingButDumpIsABadSequence() throws Exception {
        try (RpcClient c = new RpcClient(true)) {
            CriuReq pd = CriuReq.newBuilder().setType(CriuReqType.SINGLE_PRE_DUMP)
                    .setOpts(CriuOpts.newBuilder().setImagesDirFd(-1).setPid(1).setImagesDir(tmp.toString())).build();
            CriuResp r = c.call(pd);
            assertEquals(CriuReqType.SINGLE_PRE_DUMP, r.getType());
            assertFalse(r.getSuccess());
            assertTrue(r.getCrErrmsg().contains("pre-dump"), r.getCrErrmsg());
        }
    }

    @Test
    void standaloneServiceRefusesSwrkOnlyOptions() throws Exception {
        try (RpcClient c = new RpcClient(false)) {
            CriuReq rq = CriuReq.newBuilder().setType(CriuReqType.RESTORE)
                    .setOpts(CriuOpts.newBuilder().setImagesDirFd(-1).setImagesDir(tmp.toString()).setRstSibling(true)).build();
            CriuResp r = c.call(rq);
            assertEquals(CriuReqType.RESTORE, r.getType());
            assertFalse(r.getSuccess());
            assertEquals(-1, r.getRestore().getPid());
            assertEquals(Errno.EBADRQC, r.getCrErrno());
            assertTrue(r.getCrErrmsg().contains("rst_sibling is not allowed in standalone service"), r.getCrErrmsg());
        }
    }

    @Test
    void clientGoneMidSessionEndsTheWorkerQuietly() throws Exception {
        RpcClient c = new RpcClient(true);
        c.close();
        assertEquals(1, c.exitStatus());
    }
}

package org.jcriu.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.jcriu.CriuException;
import org.jcriu.action.Actions;
import org.jcriu.image.proto.CriuOpts;
import org.jcriu.image.proto.CriuReq;
import org.jcriu.image.proto.CriuReqType;
import org.jcriu.image.proto.CriuResp;
import org.jcriu.opts.Action;
import org.jcriu.opts.Options;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sockets;
import org.jcriu.sys.Sys;

/** notify_scripts: each action is a NOTIFY response, and the client's answer decides. */
class RpcNotifierTest {
    int client, server;
    Options o = new Options();

    @BeforeEach
    void pair() {
        int[] sv = Sockets.socketpair(Sockets.SOCK_SEQPACKET);
        client = sv[0];
        server = sv[1];
    }

    @AfterEach
    void close() {
        Sys.close(client);
        Sys.close(server);
    }

    /** Runs the action on another thread while this one plays the client. */
    CompletableFuture<Void> fire(Action a, int pid) {
        o.notifier = new RpcNotifier(new Channel(server), o, true);
        return CompletableFuture.runAsync(() -> Actions.run(o, a, pid));
    }

    CriuResp next() throws Exception {
        return CriuResp.parseFrom(Sockets.recv(client, 8192));
    }

    void answer(boolean ok) {
        Sockets.send(client, CriuReq.newBuilder().setType(CriuReqType.NOTIFY).setNotifySuccess(ok).build().toByteArray(), -1);
    }

    @Test
    void postRestoreCarriesThePidAndWaitsForTheAnswer() throws Exception {
        CompletableFuture<Void> f = fire(Action.POST_RESTORE, 4321);
        CriuResp r = next();
        assertEquals(CriuReqType.NOTIFY, r.getType());
        assertTrue(r.getSuccess());
        assertEquals("post-restore", r.getNotify().getScript());
        assertEquals(4321, r.getNotify().getPid());
        Thread.sleep(100);
        assertFalse(f.isDone(), "the action must wait for the client's answer");
        answer(true);
        f.get(5, TimeUnit.SECONDS);
        assertEquals(4321, ((RpcNotifier) o.notifier).rootPid());
    }

    @Test
    void preDumpHasNoPid() throws Exception {
        CompletableFuture<Void> f = fire(Action.PRE_DUMP, 77);
        CriuResp r = next();
        assertEquals("pre-dump", r.getNotify().getScript());
        assertFalse(r.getNotify().hasPid());
        answer(true);
        f.get(5, TimeUnit.SECONDS);
    }

    @Test
    void negativeAnswerAbortsTheAction() throws Exception {
        CompletableFuture<Void> f = fire(Action.PRE_RESTORE, 0);
        next();
        answer(false);
        Exception e = assertThrows(Exception.class, () -> f.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof CriuException);
        assertTrue(e.getCause().getMessage().contains("RPC client reported script error for pre-restore"), e.getCause().getMessage());
    }

    @Test
    void clientGoneAbortsTheAction() throws Exception {
        CompletableFuture<Void> f = fire(Action.POST_DUMP, 0);
        next();
        Sockets.shutdown(client, Sockets.SHUT_WR);
        Exception e = assertThrows(Exception.class, () -> f.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("did not answer the post-dump notification"), e.getCause().getMessage());
    }

    @Test
    void queryExtFilesAddsTheClientsExternals() throws Exception {
        CompletableFuture<Void> f = fire(Action.QUERY_EXT_FILES, 0);
        assertEquals("query-ext-files", next().getNotify().getScript());
        Sockets.send(client, CriuReq.newBuilder().setType(CriuReqType.NOTIFY).setNotifySuccess(true)
                .setOpts(CriuOpts.newBuilder().setImagesDirFd(-1).addExternal("file[1:2]").addExternal("tty[3:4]"))
                .build().toByteArray(), -1);
        f.get(5, TimeUnit.SECONDS);
        assertEquals(List.of("file[1:2]", "tty[3:4]"), o.external);
    }

    @Test
    void orphanPtsMasterHandsTheFdOver() throws Exception {
        o.notifier = new RpcNotifier(new Channel(server), o, true);
        int devNull = Sys.open("/dev/null", Linux.O_RDONLY, 0);
        try {
            CompletableFuture<Boolean> f = CompletableFuture.supplyAsync(() -> Actions.sendFd(o, Action.ORPHAN_PTS_MASTER, devNull));
            Sockets.Received got = Sockets.recvWithFds(client, 8192);
            assertEquals("orphan-pts-master", CriuResp.parseFrom(got.data()).getNotify().getScript());
            assertEquals(1, got.fds().length);
            assertEquals("/dev/null", Sys.readlink("/proc/self/fd/" + got.fds()[0]));
            Sys.close(got.fds()[0]);
            answer(true);
            assertTrue(f.get(5, TimeUnit.SECONDS));
        } finally {
            Sys.close(devNull);
        }
    }

    @Test
    void watchingNotifierTellsNobodyButRemembersThePid() {
        RpcNotifier n = new RpcNotifier(new Channel(server), o, false);
        o.notifier = n;
        Actions.run(o, Action.POST_RESTORE, 999);
        assertEquals(999, n.rootPid());
        assertFalse(Actions.sendFd(o, Action.ORPHAN_PTS_MASTER, 0));
    }
}

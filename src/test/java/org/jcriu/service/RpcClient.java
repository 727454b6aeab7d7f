package org.jcriu.service;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.InvalidProtocolBufferException;

import org.jcriu.image.proto.CriuReq;
import org.jcriu.image.proto.CriuResp;
import org.jcriu.opts.Options;
import org.jcriu.sys.Sockets;
import org.jcriu.sys.Sys;

/** A Session on one end of a socketpair in this JVM, and the client end for the test. */
final class RpcClient implements AutoCloseable {
    final int fd;
    private final int serverFd;
    private final ExecutorService exec = Executors.newSingleThreadExecutor();
    final Future<Integer> status;

    RpcClient(boolean swrk) {
        int[] sv = Sockets.socketpair(Sockets.SOCK_SEQPACKET);
        fd = sv[0];
        serverFd = sv[1];
        Options base = new Options();
        base.command = swrk ? "swrk" : "service";
        // the worker's end closes when its session ends, as when a real worker exits
        status = exec.submit(() -> {
            try {
                return new Session(serverFd, base, swrk).work();
            } finally {
                Sys.close(serverFd);
            }
        });
    }

    void send(CriuReq r) {
        sendRaw(r.toByteArray());
    }

    void sendRaw(byte[] b) {
        Sockets.send(fd, b, -1);
    }

    CriuResp receive() {
        byte[] b = Sockets.recv(fd, 1 << 16);
        if (b.length == 0) return null;
        try {
            return CriuResp.parseFrom(b);
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError("undecodable response", e);
        }
    }

    CriuResp call(CriuReq r) {
        send(r);
        return receive();
    }

    /** The worker's exit status once it ended the session (fails after 10 s). */
    int exitStatus() throws Exception {
        return status.get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        Sys.close(fd);
        try {
            status.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // the test already said what went wrong
        }
        exec.shutdownNow();
    }
}

package org.jcriu.service;

import com.google.protobuf.InvalidProtocolBufferException;

import org.jcriu.CriuException;
import org.jcriu.image.proto.CriuReq;
import org.jcriu.image.proto.CriuResp;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Sockets;

/**
 * CRIU's RPC framing on a SOCK_SEQPACKET socket: one protobuf per record, no length prefix. The
 * size of the next record is asked with MSG_PEEK|MSG_TRUNC before it is read, as cr-service.c
 * does, so any size the client sends is read whole (or refused whole, when absurdly large).
 */
final class Channel {
    /**
     * Larger requests are consumed and refused. Real ones are a few hundred bytes (a few KiB with
     * many mounts); the kernel caps a record at about the socket's send buffer (208 KiB) anyway.
     */
    static final int MAX_REQUEST = 128 << 10;
    /** go-criu reads responses into 8 KiB: cr_errmsg is cut to keep every response well below. */
    static final int MAX_ERRMSG = 2000;

    final int fd;

    Channel(int fd) {
        this.fd = fd;
    }

    /** A request that could not be understood: the reason, to be sent back as an error. */
    static final class BadRequest extends CriuException {
        BadRequest(String message) {
            super(Errno.EBADRQC, message);
        }
    }

    /** Thrown when the client closed its end: nothing can be answered any more. */
    static final class Closed extends CriuException {
        Closed() {
            super(Errno.ECONNRESET, "Client exited unexpectedly");
        }
    }

    /**
     * The next request. A request whose {@code type} is missing or unknown to this protobuf
     * version still parses (type EMPTY), so the caller answers "Invalid req" as CRIU does.
     */
    CriuReq receive() {
        int len = Sockets.peekSize(fd);
        if (len == 0) {
            Sockets.recv(fd, 0);
            throw new Closed();
        }
        if (len > MAX_REQUEST) {
            Sockets.recv(fd, 0); // drops the whole record: SEQPACKET discards what does not fit
            throw new BadRequest("request of " + len + " bytes is larger than the " + MAX_REQUEST + " bytes allowed");
        }
        byte[] data = Sockets.recv(fd, len);
        if (data.length == 0) throw new Closed();
        try {
            return CriuReq.parser().parsePartialFrom(data);
        } catch (InvalidProtocolBufferException e) {
            throw new BadRequest("Failed unpacking request of " + data.length + " bytes: " + e.getMessage());
        }
    }

    void send(CriuResp resp) {
        send(resp, -1);
    }

    void send(CriuResp resp, int passFd) {
        try {
            Sockets.send(fd, resp.toByteArray(), passFd);
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "Can't send response: " + e.getMessage(), e);
        }
    }

    static String clip(String msg) {
        if (msg == null) return "";
        if (msg.length() <= MAX_ERRMSG) return msg;
        return msg.substring(0, MAX_ERRMSG - 3) + "...";
    }
}

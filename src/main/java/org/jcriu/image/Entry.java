package org.jcriu.image;

import com.google.protobuf.Message;
import java.util.List;

/**
 * One decoded entry and the extra payload that followed it, if its image has one:
 * {@code byte[]} (pipe/fifo data, socket queue, shm contents, bpf keys+values, ghost file
 * contents or chunk), {@link TcpQueues}, {@code int[]} (semaphore values) or
 * {@code List<IpcMessage>} (message queue).
 */
public record Entry(Message message, Object extra) {
    public Entry(Message message) {
        this(message, null);
    }

    /** The two socket queues of a tcp-stream image entry. */
    public record TcpQueues(byte[] inq, byte[] outq) {
    }

    /** One SysV message of an ipcns-msg entry: its ipc_msg header and its text. */
    public record IpcMessage(Message header, byte[] data) {
    }

    @SuppressWarnings("unchecked")
    public List<IpcMessage> ipcMessages() {
        return (List<IpcMessage>) extra;
    }
}

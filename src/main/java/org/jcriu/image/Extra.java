package org.jcriu.image;

/**
 * Raw bytes that follow an entry's protobuf payload in some images (not length-prefixed: the
 * size comes from fields of the entry itself). Readers that do not want the bytes must still
 * skip them to reach the next entry.
 */
public enum Extra {
    NONE,
    /** pipe_data_entry.bytes raw bytes (pipes-data.img, fifo-data.img). */
    PIPE_DATA,
    /** sk_packet_entry.length raw bytes (sk-queues.img). */
    SK_QUEUE,
    /** tcp_stream_entry.inq_len bytes of the receive queue, then outq_len bytes of the send queue. */
    TCP_QUEUES,
    /** ipc_shm_entry.size bytes padded to 4, unless the segment's pages went to a pagemap. */
    IPC_SHM,
    /** ipc_sem_entry.nsems u16 semaphore values, padded to 8 bytes. */
    IPC_SEM,
    /** ipc_msg_entry.qnum messages, each a u32-sized ipc_msg then msize bytes padded to 8. */
    IPC_MSG,
    /** ghost_file_entry: ghost_chunk_entry + len bytes each when chunked, else the rest of the file. */
    GHOST,
    /** bpfmap_data_entry.keys_bytes + values_bytes of keys then values. */
    BPFMAP_DATA
}

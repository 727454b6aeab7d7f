/*
 * aio DIR: a native AIO context (io_setup, 128 events: a 383-event ring here) whose ring has
 * gone round once: 500 writes to DIR/aio.dat submitted and completed, all but the last 3 reaped,
 * so head and tail have wrapped and 3 completions (data 497..499) wait unreaped. On SIGTERM it reaps
 * exactly those 3, with their results, then does a new write and read through the same context.
 */
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "workload.h"

#define N 500

static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

static int submit(aio_context_t ctx, int fd, int op, char *buf, long off, unsigned long long data) {
    struct iocb cb;
    memset(&cb, 0, sizeof cb);
    cb.aio_lio_opcode = op;
    cb.aio_fildes = fd;
    cb.aio_buf = (unsigned long)buf;
    cb.aio_nbytes = 8;
    cb.aio_offset = off;
    cb.aio_data = data;
    struct iocb *p = &cb;
    return (int)syscall(SYS_io_submit, ctx, 1, &p);
}

static int reap(aio_context_t ctx, struct io_event *ev, int min, int max) {
    struct timespec ts = {2, 0};
    return (int)syscall(SYS_io_getevents, ctx, min, max, ev, &ts);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char path[4200];
    snprintf(path, sizeof path, "%s/aio.dat", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    aio_context_t ctx = 0;
    if (syscall(SYS_io_setup, 128, &ctx)) { perror("io_setup"); return 3; }
    static char bufs[N][8];
    struct io_event ev[N];
    for (int i = 0; i < N; i++) {
        snprintf(bufs[i], 8, "w%06d", i);
        if (submit(ctx, fd, IOCB_CMD_PWRITE, bufs[i], i * 8L, i) != 1) { perror("io_submit"); return 4; }
        if (i < N - 3 && reap(ctx, ev, 1, 1) != 1) return 5;
    }
    /* wait until the last 3 have completed (regular file writes complete at submit, but be sure) */
    struct { unsigned id, nr, head, tail; } *ring = (void *)ctx;
    for (int k = 0; k < 1000 && (ring->tail + ring->nr - ring->head) % ring->nr != 3; k++) usleep(1000);
    if ((ring->tail + ring->nr - ring->head) % ring->nr != 3) return 6;
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    char buf[128];
    snprintf(buf, sizeof buf, "ring %lx head %u tail %u nr %u\n", (unsigned long)ctx, ring->head, ring->tail, ring->nr);
    put("ring", buf);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    while (!stop) pause();

    int n = reap(ctx, ev, 3, N);
    if (n != 3) fail("not exactly the 3 unreaped completions");
    for (int i = 0; i < n && i < 3; i++) {
        if (ev[i].data != (unsigned long long)(N - 3 + i) || ev[i].res != 8) { fail("a completion's data or result"); break; }
    }
    char rd[8] = {0};
    if (submit(ctx, fd, IOCB_CMD_PWRITE, "after!!", N * 8L, 1000) != 1) fail("io_submit after restore");
    else if (reap(ctx, ev, 1, 1) != 1 || ev[0].data != 1000) fail("completion after restore");
    if (submit(ctx, fd, IOCB_CMD_PREAD, rd, (N - 1) * 8L, 1001) != 1) fail("read submit after restore");
    else if (reap(ctx, ev, 1, 1) != 1 || memcmp(rd, "w000499", 7)) fail("read through the context after restore");
    if (syscall(SYS_io_destroy, ctx)) fail("io_destroy");
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}

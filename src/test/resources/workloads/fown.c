/*
 * fown DIR: files with an owner for SIGIO (F_SETOWN / F_SETSIG / O_ASYNC):
 *   fds 5, 6  a pipe; its read end (fd 5) has O_ASYNC, owner this process, signal SIGRTMIN+1
 *   fd 7      DIR/data, owner this process (F_OWNER_PID), signal SIGUSR2
 *   fds 8, 9  a unix socketpair; fd 8 has O_ASYNC, owner this process, signal SIGRTMIN+2
 *   fd 10     an eventfd, owner this process, signal SIGUSR1 (no O_ASYNC: eventfd has no fasync)
 * fown DIR thread: as well, a second thread makes itself (F_OWNER_TID) the owner of the pipe's
 * write end (fd 6): after the restore fd 6 must still be owned by that thread (same TID).
 * fown DIR euid: the owner of fd 7 is set while the effective uid is 1000 (the kernel records the
 * setter's uid and euid, F_GETOWNER_UIDS); after the restore they must be 0 and 1000 again.
 * On SIGTERM it checks owners, signals and O_ASYNC, then writes into the pipe: the kernel must
 * queue SIGRTMIN+1 with si_fd 5 to this process; and into fd 9: SIGRTMIN+2 with si_fd 8.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "workload.h"

static volatile sig_atomic_t got, got_fd = -1;
static void on_io(int s, siginfo_t *si, void *u) { (void)s; (void)u; got++; got_fd = si->si_fd; }

static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

static void place(int fd, int want) {
    if (fd < 0) exit(3);
    if (fd != want) { dup2(fd, want); close(fd); }
}

static void own(int fd, int sig) {
    if (fcntl(fd, F_SETOWN, getpid()) || fcntl(fd, F_SETSIG, sig) || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC)) exit(4);
}

static void check_owner(int fd, int sig, int async) {
    char b[200];
    struct f_owner_ex o;
    if (fcntl(fd, F_GETOWN_EX, &o) || o.type != F_OWNER_PID || o.pid != getpid()) {
        snprintf(b, sizeof b, "fd %d owner type %d pid %d, expected %d %d", fd, o.type, o.pid, F_OWNER_PID, getpid());
        fail(b);
    }
    int s = fcntl(fd, F_GETSIG);
    if (s != sig) { snprintf(b, sizeof b, "fd %d signal %d, expected %d", fd, s, sig); fail(b); }
    if (async && !(fcntl(fd, F_GETFL) & O_ASYNC)) { snprintf(b, sizeof b, "fd %d lost O_ASYNC", fd); fail(b); }
}

static volatile int thread_ready;
static volatile pid_t owner_tid;
static void *owner_thread(void *a) {
    (void)a;
    struct f_owner_ex o = {.type = F_OWNER_TID, .pid = (pid_t)syscall(SYS_gettid)};
    owner_tid = o.pid;
    // SIGTERM is main's: taken here it would leave main in pause() for good
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &m, NULL);
    if (fcntl(6, F_SETOWN_EX, &o)) exit(5);
    thread_ready = 1;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char p[4200], buf[256];
    struct sigaction io = {0};
    io.sa_sigaction = on_io;
    io.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN + 1, &io, NULL);
    sigaction(SIGUSR2, &io, NULL);
    int pp[2];
    if (pipe(pp)) return 2;
    place(pp[0], 5);
    place(pp[1], 6);
    own(5, SIGRTMIN + 1);
    snprintf(p, sizeof p, "%s/data", dir);
    place(open(p, O_RDWR | O_CREAT, 0644), 7);
    int euid_mode = argc > 2 && !strcmp(argv[2], "euid");
    if (euid_mode && seteuid(1000)) return 6;
    own(7, SIGUSR2);
    if (euid_mode && seteuid(0)) return 6;
    sigaction(SIGRTMIN + 2, &io, NULL);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return 2;
    place(sv[0], 8);
    place(sv[1], 9);
    own(8, SIGRTMIN + 2);
    place(eventfd(0, 0), 10);
    if (fcntl(10, F_SETOWN, getpid()) || fcntl(10, F_SETSIG, SIGUSR1)) return 4;
    if (argc > 2 && !strcmp(argv[2], "thread")) {
        pthread_t t;
        if (pthread_create(&t, NULL, owner_thread, NULL)) return 2;
        while (!thread_ready) usleep(1000);
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    put_ready(dir);
    while (!stop) pause();

    if (owner_tid) {
        struct f_owner_ex o = {0};
        if (fcntl(6, F_GETOWN_EX, &o) || o.type != F_OWNER_TID || o.pid != owner_tid) {
            snprintf(buf, sizeof buf, "fd 6 owner type %d pid %d, expected thread %d (F_OWNER_TID)", o.type, o.pid, (int)owner_tid);
            fail(buf);
        }
    }
    check_owner(5, SIGRTMIN + 1, 1);
    /* a regular file has no fasync: the kernel keeps no O_ASYNC for it */
    check_owner(7, SIGUSR2, 0);
    if (euid_mode) {
        unsigned uids[2] = {~0u, ~0u};
        if (fcntl(7, 17 /* F_GETOWNER_UIDS */, uids) || uids[0] != 0 || uids[1] != 1000) {
            snprintf(buf, sizeof buf, "fd 7 owner uid %u euid %u, expected 0 1000", uids[0], uids[1]);
            fail(buf);
        }
    }
    got = 0;
    if (write(6, "x", 1) != 1) fail("cannot write the pipe");
    for (int i = 0; i < 200 && !got; i++) usleep(10000);
    if (!got) fail("no SIGRTMIN+1 after writing the O_ASYNC pipe");
    else if (got_fd != 5) { snprintf(buf, sizeof buf, "signal came with si_fd %d, expected 5", (int)got_fd); fail(buf); }
    check_owner(8, SIGRTMIN + 2, 1);
    check_owner(10, SIGUSR1, 0);
    got = 0;
    if (write(9, "x", 1) != 1) fail("cannot write the socket");
    for (int i = 0; i < 200 && !got; i++) usleep(10000);
    if (!got) fail("no SIGRTMIN+2 after writing to the O_ASYNC socket");
    else if (got_fd != 8) { snprintf(buf, sizeof buf, "socket signal came with si_fd %d, expected 8", (int)got_fd); fail(buf); }
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}

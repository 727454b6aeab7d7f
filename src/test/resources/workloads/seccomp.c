/*
 * seccomp MODE: a seccomp filter that makes getppid() fail with errno 42. MODE "thread": only a
 * second thread installs it; "all": the main thread installs it before starting the thread, which
 * inherits it. Protocol as counter.c; on SIGTERM each thread checks that its getppid() still
 * fails (or, without the filter, works) and the thread joins.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "report.h"

static volatile sig_atomic_t term;
static atomic_int ready;
static char fail[256];

static void on_term(int s) { (void)s; term = 1; }

static void filter(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 42),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = {.len = 4, .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p)) exit(3);
}

static void check(const char *who, int filtered) {
    errno = 0;
    long r = syscall(SYS_getppid);
    if (filtered && !(r == -1 && errno == 42)) snprintf(fail, sizeof fail, "%s: getppid() = %ld errno %d, filter gone", who, r, errno);
    if (!filtered && r < 0) snprintf(fail, sizeof fail, "%s: getppid() failed with errno %d", who, errno);
}

static int all;
static void *worker(void *arg) {
    (void)arg;
    // SIGTERM is main's: taken here it would leave main in pause() for good
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &m, NULL);
    if (!all) filter();
    atomic_store(&ready, 1);
    while (!term) usleep(10 * 1000);
    check("worker", 1);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *dir = argv[1];
    all = strcmp(argv[2], "all") == 0;
    char buf[512];
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    if (all) filter();
    pthread_t th;
    pthread_create(&th, NULL, worker, NULL);
    while (!atomic_load(&ready)) usleep(1000);
    put_ready(dir);
    while (!term) pause();
    check("main", all);
    pthread_join(th, NULL);
    if (fail[0]) snprintf(buf, sizeof buf, "FAIL %s\n", fail);
    else snprintf(buf, sizeof buf, "PASS\n");
    put_in(dir, "verdict", buf);
    return fail[0] ? 1 : 0;
}

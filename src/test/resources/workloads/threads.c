/*
 * threads: 16 spinner threads, each with its own counter, signal mask, alternate signal stack
 * and name; one thread waiting in pthread_cond_wait (futex) and one in a 4 s nanosleep.
 * Protocol as counter.c: DIR/ready holds the pid once every thread has set itself up; on
 * SIGTERM (handled by the main thread, blocked in all others) it checks and writes DIR/verdict:
 * every counter still increases, every thread still has its mask, altstack and name, a
 * SIGUSR2 sent to each spinner runs its handler on its own altstack, the cond waiter wakes when
 * signalled (and not before), the sleeper slept its 4 s (not less) and every thread joins
 * (which needs the clear-tid address the kernel clears at thread exit); each spinner's robust
 * list head and clear-tid address are what they were, its rseq area is still registered (a second
 * rseq() on it fails with EBUSY), and every third spinner runs SCHED_BATCH, each with its own nice.
 * DIR/tids lists "tid name" of every thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stddef.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

#define NSPIN 16
#define ALTSZ (64 * 1024)

static volatile sig_atomic_t term;
static atomic_int stop, ready_count;
static volatile long counters[NSPIN];
static char *altstacks[NSPIN];
static pid_t tids[NSPIN + 2];
static volatile char *handler_sp[NSPIN];
static char fail[NSPIN + 2][200];
extern const ptrdiff_t __rseq_offset;
extern const unsigned int __rseq_size;

/* robust list head, clear-tid address */
static void own_state(long out[2]) {
    size_t len;
    void *head;
    syscall(SYS_get_robust_list, 0, &head, &len);
    out[0] = (long)head;
    int *ctid = NULL;
    prctl(PR_GET_TID_ADDRESS, &ctid);
    out[1] = (long)ctid;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go, woke_early;
static atomic_int waiter_waiting;
static atomic_long slept_ms = -1;

static void on_term(int s) { (void)s; term = 1; }

static __thread int my_index;
static void on_usr2(int s) {
    (void)s;
    char local;
    handler_sp[my_index] = &local;
}

static sigset_t mask_for(int i) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGTERM);
    sigaddset(&m, SIGRTMIN + (i % 16));
    if (i & 1) sigaddset(&m, SIGUSR1);
    if (i & 2) sigaddset(&m, SIGHUP);
    return m;
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void *spin(void *arg) {
    int i = (int)(long)arg;
    my_index = i;
    tids[i] = gettid();
    sigset_t m = mask_for(i);
    pthread_sigmask(SIG_SETMASK, &m, NULL);
    stack_t ss = {.ss_sp = altstacks[i], .ss_size = ALTSZ, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    char name[16];
    snprintf(name, sizeof name, "spin-%02d", i);
    prctl(PR_SET_NAME, name);
    setpriority(PRIO_PROCESS, 0, i % 8);
    if (i % 3 == 0) {
        struct sched_param sp = {0};
        sched_setscheduler(0, SCHED_BATCH, &sp);
    }
    long st0[2], st1[2];
    own_state(st0);
    atomic_fetch_add(&ready_count, 1);
    struct timespec ts = {0, 1000 * 1000};
    while (!atomic_load(&stop)) {
        for (int k = 0; k < 20000; k++) counters[i]++;
        nanosleep(&ts, NULL);
    }
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    for (int s = 1; s < 65; s++)
        if (sigismember(&now, s) != sigismember(&m, s)) snprintf(fail[i], sizeof fail[i], "thread %d: signal %d mask changed", i, s);
    stack_t cur;
    sigaltstack(NULL, &cur);
    if (cur.ss_sp != altstacks[i] || cur.ss_size != ALTSZ || cur.ss_flags != 0)
        snprintf(fail[i], sizeof fail[i], "thread %d: altstack %p/%zu/%d, expected %p/%d", i, cur.ss_sp, cur.ss_size, cur.ss_flags,
                 altstacks[i], ALTSZ);
    char got[16] = {0};
    prctl(PR_GET_NAME, got);
    if (strcmp(got, name) != 0) snprintf(fail[i], sizeof fail[i], "thread %d: name '%s', expected '%s'", i, got, name);
    own_state(st1);
    if (st0[0] != st1[0] || st0[1] != st1[1])
        snprintf(fail[i], sizeof fail[i], "thread %d: robust list %lx / clear-tid %lx, were %lx / %lx", i, st1[0], st1[1], st0[0], st0[1]);
    if (__rseq_size > 0) {
        void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
        long r = syscall(SYS_rseq, area, __rseq_size < 32 ? 32 : __rseq_size, 0, 0x53053053);
        if (!(r == -1 && errno == EBUSY)) snprintf(fail[i], sizeof fail[i], "thread %d: rseq not registered (rseq() = %ld, errno %d)", i, r, errno);
    }
    if (getpriority(PRIO_PROCESS, 0) != i % 8) snprintf(fail[i], sizeof fail[i], "thread %d: nice %d", i, getpriority(PRIO_PROCESS, 0));
    if (sched_getscheduler(0) != (i % 3 == 0 ? SCHED_BATCH : SCHED_OTHER)) snprintf(fail[i], sizeof fail[i], "thread %d: policy %d", i, sched_getscheduler(0));
    if (gettid() != tids[i]) snprintf(fail[i], sizeof fail[i], "thread %d: tid %d, was %d", i, gettid(), tids[i]);
    return NULL;
}

static void *waiter(void *arg) {
    (void)arg;
    tids[NSPIN] = gettid();
    prctl(PR_SET_NAME, "condwait");
    pthread_mutex_lock(&mu);
    atomic_store(&waiter_waiting, 1);
    atomic_fetch_add(&ready_count, 1);
    while (!go) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void *sleeper(void *arg) {
    (void)arg;
    tids[NSPIN + 1] = gettid();
    prctl(PR_SET_NAME, "sleeper");
    atomic_fetch_add(&ready_count, 1);
    long t0 = now_ms();
    struct timespec req = {4, 0}, rem;
    while (nanosleep(&req, &rem) != 0) {
        if (errno != EINTR) { snprintf(fail[NSPIN + 1], 200, "nanosleep: %s", strerror(errno)); return NULL; }
        req = rem;
    }
    atomic_store(&slept_ms, now_ms() - t0);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *dir = argv[1];
    char buf[8192];
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    struct sigaction su = {0};
    su.sa_handler = on_usr2;
    su.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR2, &su, NULL);
    /* the others inherit a mask with SIGTERM blocked: only the main thread takes it */
    sigset_t tm;
    sigemptyset(&tm);
    sigaddset(&tm, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &tm, NULL);
    pthread_t th[NSPIN + 2];
    for (int i = 0; i < NSPIN; i++) {
        altstacks[i] = malloc(ALTSZ);
        pthread_create(&th[i], NULL, spin, (void *)(long)i);
    }
    pthread_create(&th[NSPIN], NULL, waiter, NULL);
    pthread_create(&th[NSPIN + 1], NULL, sleeper, NULL);
    while (atomic_load(&ready_count) < NSPIN + 2) usleep(1000);
    /* the waiter took the mutex before counting itself: once we get it, it sleeps in the futex */
    pthread_mutex_lock(&mu);
    pthread_mutex_unlock(&mu);
    int len = 0;
    len += snprintf(buf + len, sizeof buf - len, "%d main\n", getpid());
    for (int i = 0; i < NSPIN + 2; i++) {
        char name[32], path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d/comm", tids[i]);
        FILE *f = fopen(path, "r");
        if (!f || !fgets(name, sizeof name, f)) return 2;
        fclose(f);
        name[strcspn(name, "\n")] = 0;
        len += snprintf(buf + len, sizeof buf - len, "%d %s\n", tids[i], name);
    }
    put_in(dir, "tids", buf);
    put_ready(dir);
    sigset_t wait_term;
    sigemptyset(&wait_term);
    while (!term) sigsuspend(&wait_term);

    /* counters must still move */
    long before[NSPIN];
    for (int i = 0; i < NSPIN; i++) before[i] = counters[i];
    usleep(300 * 1000);
    for (int i = 0; i < NSPIN; i++)
        if (counters[i] <= before[i]) { snprintf(buf, sizeof buf, "FAIL counter of thread %d stuck at %ld\n", i, counters[i]); put_in(dir, "verdict", buf); return 1; }
    /* SIGUSR2 on each spinner's own altstack */
    for (int i = 0; i < NSPIN; i++) {
        handler_sp[i] = NULL;
        pthread_kill(th[i], SIGUSR2);
    }
    for (int tries = 0; tries < 200; tries++) {
        int all = 1;
        for (int i = 0; i < NSPIN; i++) all &= handler_sp[i] != NULL;
        if (all) break;
        usleep(10 * 1000);
    }
    for (int i = 0; i < NSPIN; i++) {
        char *sp = (char *)handler_sp[i];
        if (sp == NULL || sp < altstacks[i] || sp >= altstacks[i] + ALTSZ) {
            snprintf(buf, sizeof buf, "FAIL SIGUSR2 handler of thread %d ran at %p, not on its altstack %p\n", i, sp, altstacks[i]);
            put_in(dir, "verdict", buf);
            return 1;
        }
    }
    /* the cond waiter: still waiting, wakes when told */
    pthread_mutex_lock(&mu);
    go = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    /* the sleeper finishes its 4 s */
    for (int tries = 0; tries < 1000 && atomic_load(&slept_ms) < 0; tries++) usleep(10 * 1000);
    long slept = atomic_load(&slept_ms);
    atomic_store(&stop, 1);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    for (int i = 0; i < NSPIN + 2; i++) {
        if (pthread_timedjoin_np(th[i], NULL, &deadline) != 0) {
            snprintf(buf, sizeof buf, "FAIL thread %d (tid %d) did not join\n", i, tids[i]);
            put_in(dir, "verdict", buf);
            return 1;
        }
    }
    for (int i = 0; i < NSPIN + 2; i++)
        if (fail[i][0]) { snprintf(buf, sizeof buf, "FAIL %s\n", fail[i]); put_in(dir, "verdict", buf); return 1; }
    if (slept < 4000) { snprintf(buf, sizeof buf, "FAIL sleeper slept %ld ms of 4000\n", slept); put_in(dir, "verdict", buf); return 1; }
    long total = 0;
    for (int i = 0; i < NSPIN; i++) total += counters[i];
    snprintf(buf, sizeof buf, "PASS threads=%d slept=%ld counted=%ld\n", NSPIN + 3, slept, total);
    put_in(dir, "verdict", buf);
    return 0;
}

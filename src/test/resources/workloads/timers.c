/*
 * timers: POSIX timers. Timer ids 1..3 (timer 0 is created and deleted, leaving a gap):
 * a periodic CLOCK_MONOTONIC one signalling the process (SIGRTMIN, sival 0x1234), a periodic
 * CLOCK_REALTIME one signalling one thread only (SIGEV_THREAD_ID, SIGUSR1; the worker thread,
 * or the main thread with argument "single"), and a disarmed-by-nobody SIGEV_NONE CLOCK_BOOTTIME
 * one-shot of 1000 s. Protocol as counter.c. On SIGTERM: both periodic timers still tick, the
 * thread timer's signals arrive in its thread with their sival, the one-shot has not gone back up
 * nor expired, and each timer keeps its id, clock interval and notification.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

static volatile sig_atomic_t term;
static atomic_long proc_ticks, thread_ticks, bad_value, wrong_thread;
static pid_t target_tid;
static timer_t t_proc, t_thread, t_none;
static char fail[256];

static void on_term(int s) { (void)s; term = 1; }
static void on_rt(int s, siginfo_t *si, void *uc) {
    (void)s; (void)uc;
    if (si->si_value.sival_ptr != (void *)0x1234) atomic_fetch_add(&bad_value, 1);
    atomic_fetch_add(&proc_ticks, 1);
}
static void on_usr1(int s, siginfo_t *si, void *uc) {
    (void)s; (void)uc;
    if (gettid() != target_tid) atomic_fetch_add(&wrong_thread, 1);
    if (si->si_value.sival_int != 77) atomic_fetch_add(&bad_value, 1);
    atomic_fetch_add(&thread_ticks, 1);
}

static void *worker(void *arg) {
    (void)arg;
    target_tid = gettid();
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGRTMIN); /* process timer goes to the main thread */
    pthread_sigmask(SIG_BLOCK, &m, NULL);
    while (!term) pause();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *dir = argv[1];
    int single = argc > 2 && strcmp(argv[2], "single") == 0;
    char buf[512];
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = NULL;
    sa.sa_sigaction = on_rt;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGRTMIN, &sa, NULL);
    sa.sa_sigaction = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t th;
    if (single) {
        target_tid = gettid();
    } else {
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &m, NULL);
        pthread_create(&th, NULL, worker, NULL);
        while (!target_tid) usleep(1000);
        pthread_sigmask(SIG_UNBLOCK, &m, NULL);
    }
    timer_t gap;
    timer_create(CLOCK_MONOTONIC, NULL, &gap);
    struct sigevent se = {0};
    se.sigev_notify = SIGEV_SIGNAL;
    se.sigev_signo = SIGRTMIN;
    se.sigev_value.sival_ptr = (void *)0x1234;
    if (timer_create(CLOCK_MONOTONIC, &se, &t_proc)) return 2;
    memset(&se, 0, sizeof se);
    se.sigev_notify = SIGEV_THREAD_ID;
    se._sigev_un._tid = target_tid;
    se.sigev_signo = SIGUSR1;
    se.sigev_value.sival_int = 77;
    if (timer_create(CLOCK_REALTIME, &se, &t_thread)) return 2;
    memset(&se, 0, sizeof se);
    se.sigev_notify = SIGEV_NONE;
    if (timer_create(CLOCK_BOOTTIME, &se, &t_none)) return 2;
    timer_delete(gap);
    struct itimerspec p = {{0, 20 * 1000 * 1000}, {0, 20 * 1000 * 1000}};
    timer_settime(t_proc, 0, &p, NULL);
    struct itimerspec q = {{0, 30 * 1000 * 1000}, {0, 30 * 1000 * 1000}};
    timer_settime(t_thread, 0, &q, NULL);
    struct itimerspec n = {{0, 0}, {1000, 0}};
    timer_settime(t_none, 0, &n, NULL);
    while (atomic_load(&proc_ticks) < 3 || atomic_load(&thread_ticks) < 3) usleep(1000);
    put_ready(dir);
    while (!term) pause();

    long p0 = atomic_load(&proc_ticks), t0 = atomic_load(&thread_ticks);
    for (int i = 0; i < 30; i++) usleep(10 * 1000); /* signals interrupt usleep: count loops */
    struct itimerspec cur;
    if (timer_gettime(t_proc, &cur) || cur.it_interval.tv_nsec != 20 * 1000 * 1000) snprintf(fail, sizeof fail, "process timer %ld lost its interval", (long)t_proc);
    if (timer_gettime(t_thread, &cur) || cur.it_interval.tv_nsec != 30 * 1000 * 1000) snprintf(fail, sizeof fail, "thread timer %ld lost its interval", (long)t_thread);
    if (timer_gettime(t_none, &cur) || cur.it_value.tv_sec >= 1000 || cur.it_value.tv_sec < 900 || cur.it_interval.tv_sec != 0)
        snprintf(fail, sizeof fail, "one-shot timer %ld has %ld s left", (long)t_none, (long)cur.it_value.tv_sec);
    if ((long)t_proc != 1 || (long)t_thread != 2 || (long)t_none != 3)
        snprintf(fail, sizeof fail, "timer ids %ld %ld %ld", (long)t_proc, (long)t_thread, (long)t_none);
    if (atomic_load(&proc_ticks) <= p0) snprintf(fail, sizeof fail, "process timer stopped at %ld ticks", p0);
    if (atomic_load(&thread_ticks) <= t0) snprintf(fail, sizeof fail, "thread timer stopped at %ld ticks", t0);
    if (atomic_load(&wrong_thread)) snprintf(fail, sizeof fail, "%ld thread-timer signals in the wrong thread", atomic_load(&wrong_thread));
    if (atomic_load(&bad_value)) snprintf(fail, sizeof fail, "%ld signals with a wrong sival", atomic_load(&bad_value));
    if (!single) {
        pthread_kill(th, SIGUSR2 - SIGUSR2); /* nothing: the worker sees term on its next signal */
        pthread_join(th, NULL);
    }
    if (fail[0]) snprintf(buf, sizeof buf, "FAIL %s\n", fail);
    else snprintf(buf, sizeof buf, "PASS process ticks %ld thread ticks %ld\n", atomic_load(&proc_ticks), atomic_load(&thread_ticks));
    put_in(dir, "verdict", buf);
    return fail[0] ? 1 : 0;
}

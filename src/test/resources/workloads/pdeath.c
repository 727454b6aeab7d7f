/*
 * pdeath: the parent-death signal, which the kernel keeps per thread.
 *
 * The root R forks C. C's main thread sets PR_SET_PDEATHSIG to SIGUSR1, a second thread of C
 * sets SIGUSR2 for itself; both signals are caught and counted. DIR/ready holds R's pid and
 * DIR/child C's pid once both are set.
 *
 * On SIGTERM R exits at once. The kernel then sends C every pdeath signal its threads hold
 * (reparent_leader): C waits up to 10 s for SIGUSR1 and SIGUSR2, checks that each thread still
 * reads its own value back with PR_GET_PDEATHSIG, and writes DIR/verdict:
 * "PASS main SIGUSR1 thread SIGUSR2 fired USR1 USR2" or "FAIL what differs".
 *
 * "pdeath DIR root": R alone, with SIGUSR1 as its own parent-death signal. Restored without -d,
 * its parent is jcriu, which waits for it: nothing may send it SIGUSR1 before it exits. On
 * SIGTERM R writes DIR/verdict "PASS root 10 fired 0" or "FAIL ...".
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "workload.h"

static volatile sig_atomic_t got1, got2, ask;
static volatile int thread_sig = -1, thread_ready;
static void on_usr1(int s) { (void)s; got1++; }
static void on_usr2(int s) { (void)s; got2++; }

static void *second(void *arg) {
    (void)arg;
    prctl(PR_SET_PDEATHSIG, SIGUSR2);
    thread_ready = 1;
    for (;;) {
        if (ask) {
            int v = -1;
            prctl(PR_GET_PDEATHSIG, &v);
            thread_sig = v;
            ask = 0;
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char buf[256], path[4200];
    pid_t r = getpid();
    if (argc > 2 && strcmp(argv[2], "root") == 0) {
        struct sigaction sa = {0};
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        sa.sa_handler = on_term;
        sigaction(SIGTERM, &sa, NULL);
        prctl(PR_SET_PDEATHSIG, SIGUSR1);
        snprintf(buf, sizeof buf, "%d\n", getpid());
        put("ready", buf);
        while (!stop) pause();
        int mine = -1;
        prctl(PR_GET_PDEATHSIG, &mine);
        snprintf(buf, sizeof buf, "%s root %d fired %d\n", mine == SIGUSR1 && got1 == 0 ? "PASS" : "FAIL", mine, (int)got1);
        put("verdict", buf);
        return 0;
    }
    pid_t c = fork();
    if (c == 0) {
        struct sigaction sa = {0};
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        sa.sa_handler = on_usr2;
        sigaction(SIGUSR2, &sa, NULL);
        prctl(PR_SET_PDEATHSIG, SIGUSR1);
        pthread_t t;
        pthread_create(&t, NULL, second, NULL);
        while (!thread_ready) usleep(1000);
        snprintf(buf, sizeof buf, "%d\n", getpid());
        put("child", buf);
        /* the parent's death, not the dump or the restore, must bring the signals */
        while (!(got1 && got2)) {
            struct timespec ts = {0, 5 * 1000 * 1000};
            nanosleep(&ts, NULL);
            if (getppid() == r) continue;
            static int waited;
            if (waited++ > 2000) break; /* 10 s after the parent went */
        }
        int mine = -1;
        prctl(PR_GET_PDEATHSIG, &mine);
        ask = 1;
        for (int i = 0; i < 1000 && ask; i++) usleep(1000);
        int bad = mine != SIGUSR1 || thread_sig != SIGUSR2 || got1 != 1 || got2 != 1;
        snprintf(buf, sizeof buf, "%s main %d thread %d fired usr1 %d usr2 %d\n", bad ? "FAIL" : "PASS", mine, thread_sig,
                 (int)got1, (int)got2);
        put("verdict", buf);
        return bad;
    }
    snprintf(path, sizeof path, "%s/child", dir);
    while (access(path, F_OK) != 0) usleep(1000);
    ready_then_wait();
    return 0;
}

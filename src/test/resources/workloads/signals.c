/*
 * signals DIR: signals queued and blocked at dump time must still be queued after restore:
 * SIGUSR1 sent to the process (shared queue) with a value, SIGUSR2 to the thread (its own
 * queue), both blocked. On SIGTERM it checks they are pending, unblocks them and checks each
 * handler ran once, with the value.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "report.h"

static volatile sig_atomic_t stop, usr1, usr2, value;
static void on_term(int s) { (void)s; stop = 1; }
static void on_usr(int s, siginfo_t *si, void *uc) {
    (void)uc;
    if (s == SIGUSR1) { usr1++; value = si->si_value.sival_int; }
    else usr2++;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    struct sigaction sa = {0};
    sa.sa_sigaction = on_usr;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    struct sigaction st = {0};
    st.sa_handler = on_term;
    sigaction(SIGTERM, &st, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, NULL);
    union sigval v = {.sival_int = 4242};
    sigqueue(getpid(), SIGUSR1, v);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2);
    char buf[256];
    put_ready(argv[1]);
    while (!stop) pause();
    sigset_t pend;
    sigpending(&pend);
    int p1 = sigismember(&pend, SIGUSR1), p2 = sigismember(&pend, SIGUSR2);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    if (!p1 || !p2 || usr1 != 1 || usr2 != 1 || value != 4242)
        snprintf(buf, sizeof buf, "FAIL pending usr1=%d usr2=%d, handled usr1=%d usr2=%d value=%d\n", p1, p2, usr1, usr2, value);
    else
        snprintf(buf, sizeof buf, "PASS\n");
    put_in(argv[1], "verdict", buf);
    return 0;
}

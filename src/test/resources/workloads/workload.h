/* Shared by the self-checking workloads: the SIGTERM flag that ends their wait, the directory
 * they report to, their verdict buffer, and put(), which writes a report file there atomically
 * (report.h) so the test never reads half a verdict. */
#ifndef JCRIU_WORKLOAD_H
#define JCRIU_WORKLOAD_H
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }
static char dir[4096];
static char verdict[8192];

static inline void put(const char *name, const char *text) { put_in(dir, name, text); }

/* main()'s first step: DIR from argv[1] (exit 2 without one), SIGTERM sets stop. */
static inline void workload_init(int argc, char **argv) {
    if (argc < 2) exit(2);
    snprintf(dir, sizeof dir, "%s", argv[1]);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
}

/* Waits up to 20 s for DIR/NAME, which another task of the workload writes when it is set up. */
static inline void wait_file(const char *name) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct timespec ts = {0, 1000 * 1000};
    for (int i = 0; i < 20000 && access(path, F_OK) != 0; i++) nanosleep(&ts, NULL);
}

/* Once the state is built: SIGTERM sets stop, DIR/ready names this pid, and the workload
 * sleeps until the test sends SIGTERM (after the restore), then goes on to check its state. */
static inline void ready_then_wait(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    put_ready(dir);
    while (!stop) pause();
}

/* For workloads that report every difference, not the first: "FAIL | a | b ...". */
static inline void fail_also(const char *what) {
    size_t n = strlen(verdict);
    if (!n) n = snprintf(verdict, sizeof verdict, "FAIL");
    snprintf(verdict + n, sizeof verdict - n, " | %s", what);
}

/* Moves a new fd to number WANT, so the test knows where to look; exit 2 (naming CALL, which
 * made the fd) when it could not be made. */
static inline void place_fd(int fd, int want, const char *call) {
    if (fd < 0) { perror(call); exit(2); }
    if (fd != want) { dup2(fd, want); close(fd); }
}

/* A parent with one child C: DIR/pids "R C", then DIR/ready (what the parent reports besides,
 * e.g. DIR/addr, is written before). */
static inline void put_pids_ready(pid_t c) {
    char buf[64];
    snprintf(buf, sizeof buf, "%d %d\n", (int)getpid(), (int)c);
    put("pids", buf);
    put_ready(dir);
}

/* After the parent's SIGTERM: passes it on to child C and reaps it. Its exit status (0: its own
 * checks passed; 128 + N when signal N killed it), -1 when it is not this process's child. */
static inline int term_child(pid_t c) {
    kill(c, SIGTERM);
    int st;
    pid_t r;
    while ((r = waitpid(c, &st, 0)) < 0 && errno == EINTR) {}
    if (r != c) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
#endif

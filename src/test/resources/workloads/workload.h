/* Shared by the self-checking workloads: the SIGTERM flag that ends their wait, the directory
 * they report to, their verdict buffer, and put(), which writes a report file there atomically
 * (report.h) so the test never reads half a verdict. */
#ifndef JCRIU_WORKLOAD_H
#define JCRIU_WORKLOAD_H
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
#endif

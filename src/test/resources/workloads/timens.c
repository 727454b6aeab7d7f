/*
 * timens: a tree living in a time namespace of its own, checking that its clocks never jump.
 *
 * "timens DIR": the root R unshares a time namespace, sets its offsets (CLOCK_MONOTONIC
 * +100000 s, CLOCK_BOOTTIME +200000 s) through /proc/self/timens_offsets, joins it with setns
 * on /proc/self/ns/time_for_children, then forks C (born in the namespace). Both sample both
 * clocks every 5 ms and keep the largest step forward and any step backward between two
 * samples. DIR/ready holds R's pid once C runs.
 *
 * On SIGTERM R forwards it to C; each checks that it is still in the namespace (the clocks are
 * still beyond the offsets) and that no clock went backward, and reports its largest steps;
 * C writes DIR/verdict-child, R waits for it and writes DIR/verdict:
 * "PASS mono-max-step-ms M boot-max-step-ms B child ..." or "FAIL what broke".
 * The test compares the largest step with the time the dump and restore took. R also holds a
 * timerfd armed with TFD_TIMER_ABSTIME 60 s ahead on the namespace's CLOCK_MONOTONIC: it must
 * still be pending, less than 60 s away.
 *
 * "timens DIR nested": R stays in its parent's time namespace, only C moves to a new one
 * (a namespace nested in the tree), which jcriu refuses to dump, as CRIU does.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <errno.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "workload.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

static long long ns_of(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Moves the caller (single-threaded) into a new time namespace with the given offsets. */
static int new_timens(long mono, long boot) {
    if (unshare(CLONE_NEWTIME)) return -1;
    int fd = open("/proc/self/timens_offsets", O_WRONLY);
    if (fd < 0) return -1;
    char buf[128];
    int len = snprintf(buf, sizeof buf, "%d %ld 0\n%d %ld 0\n", CLOCK_MONOTONIC, mono, CLOCK_BOOTTIME, boot);
    if (write(fd, buf, len) != len) return -1;
    close(fd);
    fd = open("/proc/self/ns/time_for_children", O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWTIME)) return -1;
    close(fd);
    return 0;
}

/* Samples until SIGTERM; returns 0 and fills text when the clocks behaved. */
static int sample(char *text, size_t len, int in_ns) {
    long long pm = ns_of(CLOCK_MONOTONIC), pb = ns_of(CLOCK_BOOTTIME);
    long long maxm = 0, maxb = 0;
    long back = 0;
    struct timespec ts = {0, 5 * 1000 * 1000};
    while (!stop) {
        nanosleep(&ts, NULL);
        long long m = ns_of(CLOCK_MONOTONIC), b = ns_of(CLOCK_BOOTTIME);
        if (m < pm || b < pb) back++;
        if (m - pm > maxm) maxm = m - pm;
        if (b - pb > maxb) maxb = b - pb;
        pm = m;
        pb = b;
    }
    int bad = back != 0;
    if (in_ns && (pm < 100000LL * 1000000000LL || pb < 200000LL * 1000000000LL)) bad = 1;
    snprintf(text, len, "%s mono-max-step-ms %lld boot-max-step-ms %lld back %ld mono-s %lld boot-s %lld", bad ? "FAIL" : "PASS",
             maxm / 1000000, maxb / 1000000, back, pm / 1000000000LL, pb / 1000000000LL);
    return bad;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    int nested = argc > 2 && strcmp(argv[2], "nested") == 0;
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    char buf[1024], path[4200], child_text[256];
    if (!nested && new_timens(100000, 200000)) {
        put("verdict", "FAIL can't set up a time namespace\n");
        return 1;
    }
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct itimerspec its = {{0, 0}, {0, 0}};
    its.it_value.tv_sec = ns_of(CLOCK_MONOTONIC) / 1000000000LL + 60;
    if (tfd < 0 || timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL)) return 2;
    int up[2];
    if (pipe(up)) return 2;
    pid_t c = fork();
    if (c == 0) {
        if (nested && new_timens(100000, 200000)) {
            put("verdict-child", "FAIL can't set up a time namespace\n");
            return 1;
        }
        close(up[0]);
        close(up[1]); /* R's read returns once C is set up */
        int bad = sample(child_text, sizeof child_text, 1);
        put("verdict-child", child_text);
        return bad;
    }
    close(up[1]);
    char one;
    if (read(up[0], &one, 1) != 0) return 2;
    close(up[0]);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    char text[512];
    int bad = sample(text, sizeof text, !nested);
    kill(c, SIGTERM);
    int st;
    while (waitpid(c, &st, 0) < 0) {
    }
    FILE *f;
    snprintf(path, sizeof path, "%s/verdict-child", dir);
    child_text[0] = 0;
    if ((f = fopen(path, "r")) != NULL) {
        if (!fgets(child_text, sizeof child_text, f)) child_text[0] = 0;
        fclose(f);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) bad = 1;
    unsigned long long ticks;
    struct itimerspec cur;
    if (read(tfd, &ticks, sizeof ticks) != -1 || errno != EAGAIN || timerfd_gettime(tfd, &cur)
        || cur.it_value.tv_sec >= 60 || (cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0)) {
        snprintf(path, sizeof path, " timerfd expired or %ld s away", (long)cur.it_value.tv_sec);
        strncat(text, path, sizeof text - strlen(text) - 1);
        bad = 1;
    }
    snprintf(buf, sizeof buf, "%s %s child %s\n", bad ? "FAIL" : "PASS", text + 5, child_text);
    put("verdict", buf);
    return bad;
}

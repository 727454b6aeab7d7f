/*
 * vfork: a parent that spends most of its time blocked in vfork().
 *
 * R loops: vfork(); the child sleeps 2 s (a raw nanosleep: it runs on R's memory and stack, so
 * it calls nothing that could change them) and execs /bin/true; R, blocked in vfork until that
 * exec, then waits for the child and appends the round's number to DIR/rounds.log through one fd.
 * DIR/ready holds R's pid once the first vfork child exists.
 *
 * On SIGTERM (taken after the round in progress), R checks that rounds.log counts 1..n with no
 * gap and no repeat and that every child exited 0, and writes DIR/verdict "PASS rounds N" or
 * "FAIL ...".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "workload.h"

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char path[4200], buf[256];
    snprintf(path, sizeof path, "%s/rounds.log", dir);
    int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (log < 0) return 2;
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    long n = 0;
    int bad = 0;
    while (!stop) {
        if (n == 0) {
            /* the first child is about to exist: the test waits for R to block in vfork */
            snprintf(buf, sizeof buf, "%d\n", getpid());
            put("ready", buf);
        }
        pid_t c = vfork();
        if (c == 0) {
            struct timespec ts = {2, 0};
            syscall(SYS_nanosleep, &ts, NULL);
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        int st;
        while (waitpid(c, &st, 0) < 0) {
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) bad++;
        n++;
        int len = snprintf(buf, sizeof buf, "%ld\n", n);
        if (write(log, buf, len) != len) bad++;
    }
    FILE *in = fopen(path, "r");
    long expect = 1, v;
    while (in && fscanf(in, "%ld", &v) == 1) {
        if (v != expect) bad++;
        expect++;
    }
    if (expect - 1 != n) bad++;
    snprintf(buf, sizeof buf, "%s rounds %ld\n", bad ? "FAIL" : "PASS", n);
    put("verdict", buf);
    return bad != 0;
}

/*
 * orphans: tasks whose session and group leader has exited, inherited by a child subreaper.
 *
 *   R: PR_SET_CHILD_SUBREAPER, session and group leader (started by setsid -f)
 *   +-- L: setsid(), forks D, then exits (R reaps it): session L and group L lose their leader
 *   +-- D (reparented from L to R): in session L, group L; forks E
 *       +-- E: in session L, group L
 *
 * D and E count in memory; D writes DIR/pids "R D E L" and R writes DIR/ready once D is R's
 * child and E runs. On SIGTERM R forwards it to D, D to E; each checks that its pid, ppid, sid
 * and pgid are those it had at start and that its counter moved, and R writes DIR/verdict
 * ("PASS ..." or "FAIL <what differs>") taking D's and E's exit status into account.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "workload.h"

static pid_t my_pid, my_ppid, my_sid, my_pgid;
static volatile long n;

static void remember(void) {
    my_pid = getpid();
    my_ppid = getppid();
    my_sid = getsid(0);
    my_pgid = getpgid(0);
}

static void nap(long ms) {
    struct timespec ts = {0, ms * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* Counts until SIGTERM; returns 0 when the ids are still those remembered and the count moved. */
static int live(const char *role) {
    long at_start = n;
    while (!stop) {
        n++;
        nap(5);
    }
    char buf[256];
    if (getpid() != my_pid || getppid() != my_ppid || getsid(0) != my_sid || getpgid(0) != my_pgid) {
        snprintf(buf, sizeof buf, "%s pid/ppid/sid/pgid %d/%d/%d/%d, were %d/%d/%d/%d; ", role, getpid(), getppid(), getsid(0),
                 getpgid(0), my_pid, my_ppid, my_sid, my_pgid);
        strncat(verdict, buf, sizeof verdict - strlen(verdict) - 1);
        return 1;
    }
    if (n == at_start) {
        snprintf(buf, sizeof buf, "%s did not count; ", role);
        strncat(verdict, buf, sizeof verdict - strlen(verdict) - 1);
        return 1;
    }
    return 0;
}

static int reap(pid_t pid) {
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {}
    return r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    workload_init(argc, argv);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_t root = getpid();

    pid_t l = fork();
    if (l == 0) {
        setsid();
        pid_t d = fork();
        if (d == 0) {
            while (getppid() != root) nap(1);
            remember();
            pid_t e = fork();
            if (e == 0) {
                remember();
                return live("E");
            }
            char buf[128];
            snprintf(buf, sizeof buf, "%d %d %d %d\n", root, getpid(), e, my_sid);
            put("pids", buf);
            int bad = live("D");
            kill(e, SIGTERM);
            if (reap(e)) {
                strncat(verdict, "E failed; ", sizeof verdict - strlen(verdict) - 1);
                bad = 1;
            }
            if (bad) put("verdict-D", verdict);
            return bad;
        }
        _exit(0);
    }
    reap(l);
    char path[4200];
    snprintf(path, sizeof path, "%s/pids", dir);
    while (access(path, F_OK) != 0) nap(1);
    char buf[256];
    snprintf(buf, sizeof buf, "%d\n", root);
    put("ready", buf);
    while (!stop) nap(5);
    FILE *f = fopen(path, "r");
    int r = 0, d = 0;
    if (!f || fscanf(f, "%d %d", &r, &d) != 2) return 3;
    fclose(f);
    kill(d, SIGTERM);
    if (reap(d)) {
        snprintf(buf, sizeof buf, "FAIL D (or E) failed, see verdict-D\n");
        put("verdict", buf);
        return 1;
    }
    put("verdict", "PASS\n");
    return 0;
}

/*
 * tree-forks DIR N: forks without pause, never more than N children alive at once. Each child
 * forks a grandchild; both live a few milliseconds and exit, the child after reaping its
 * grandchild; the root reaps its children and forks new ones. So whenever jcriu looks, tasks
 * are being created and dying at every level of the tree.
 *
 * The root counts its forks in memory and writes the count to DIR/forks every 20 forks;
 * DIR/ready holds its pid after the first N forks. On SIGTERM it stops forking, reaps every
 * child and writes DIR/verdict "PASS forks=F" (or FAIL when a child ended badly).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "workload.h"

static void nap(long usec) {
    struct timespec ts = {0, usec * 1000};
    nanosleep(&ts, NULL);
}

static int child(unsigned seed) {
    pid_t g = fork();
    if (g == 0) {
        nap(1000 + seed % 5000);
        _exit(0);
    }
    nap(1000 + (seed / 7) % 8000);
    int st;
    while (waitpid(g, &st, 0) < 0 && errno == EINTR) {}
    return g > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    int max = atoi(argv[2]);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    long forks = 0, bad = 0;
    int alive = 0;
    char buf[128];
    unsigned seed = (unsigned)getpid();
    while (!stop) {
        int st;
        pid_t r;
        while ((r = waitpid(-1, &st, WNOHANG)) > 0) {
            alive--;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) bad++;
        }
        if (alive >= max) {
            nap(500);
            continue;
        }
        seed = seed * 1103515245 + 12345;
        pid_t c = fork();
        if (c == 0) _exit(child(seed >> 8));
        if (c < 0) {
            nap(1000);
            continue;
        }
        alive++;
        forks++;
        if (forks % 20 == 0) {
            snprintf(buf, sizeof buf, "%ld\n", forks);
            put("forks", buf);
        }
        if (forks == max) {
            snprintf(buf, sizeof buf, "%d\n", getpid());
            put("ready", buf);
        }
    }
    while (alive > 0) {
        int st;
        pid_t r = waitpid(-1, &st, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        alive--;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) bad++;
    }
    if (bad) snprintf(buf, sizeof buf, "FAIL %ld children ended badly of %ld forks\n", bad, forks);
    else snprintf(buf, sizeof buf, "PASS forks=%ld\n", forks);
    put("verdict", buf);
    return bad != 0;
}

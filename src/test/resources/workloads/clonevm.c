/*
 * clonevm DIR: a task and a child made with clone(CLONE_VM) without CLONE_THREAD: two processes
 * with one mm. DIR/pids holds "R C", DIR/ready R's pid. The child only waits. On SIGTERM R
 * checks that a word the child wrote into their common memory is there, kills the child and
 * writes DIR/verdict.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "workload.h"

static volatile int child_word;

static int idle(void *arg) {
    (void)arg;
    child_word = 42;
    for (;;) pause();
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    size_t size = 256 * 1024;
    char *stack = malloc(size);
    if (!stack) return 3;
    pid_t c = clone(idle, stack + size, CLONE_VM | SIGCHLD, NULL);
    if (c < 0) { perror("clone"); return 4; }
    while (child_word != 42) usleep(1000);
    char buf[128];
    snprintf(buf, sizeof buf, "%d %d\n", getpid(), c);
    put("pids", buf);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    while (!stop) pause();
    kill(c, SIGKILL);
    int st;
    if (waitpid(c, &st, 0) != c || !WIFSIGNALED(st)) snprintf(verdict, sizeof verdict, "FAIL the CLONE_VM child\n");
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}

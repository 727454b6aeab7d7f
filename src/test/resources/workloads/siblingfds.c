/*
 * siblingfds DIR: two children A and B share one fd table that their parent P no longer has:
 * P clones both with CLONE_FILES, then unshare(CLONE_FILES)s (as exec would) and closes fd 41
 * in its own copy. A table shared by siblings and not by their parent.
 *
 * On SIGTERM P passes it on to A; A checks that fd 41 is still open (P's close was P's own),
 * closes it, makes fd 42 and tells B through a pipe; B must see fd 41 gone and fd 42 there (one
 * table for A and B). P checks that it has neither (its own table). A and B write DIR/v-A and
 * DIR/v-B; P waits for them and writes DIR/verdict. DIR/pids holds "P A B".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "workload.h"

static int F, tell[2];
static char who[4];

static void add(const char *what) {
    snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "%s: %s; ", who, what);
}

static int open_fd(int fd) {
    return fcntl(fd, F_GETFD) >= 0;
}

static int child_a(void *arg) {
    (void)arg;
    snprintf(who, sizeof who, "A");
    while (!stop) pause();
    if (!open_fd(41)) add("fd 41 is closed here (P's close reached A's table)");
    if (close(41)) add("close(41) failed");
    if (dup2(F, 42) != 42) add("dup2(F, 42) failed");
    if (write(tell[1], "a", 1) != 1) add("cannot tell B");
    put("v-A", verdict[0] ? verdict : "PASS\n");
    return verdict[0] ? 1 : 0;
}

static int child_b(void *arg) {
    (void)arg;
    snprintf(who, sizeof who, "B");
    char c;
    while (read(tell[0], &c, 1) != 1) {
        if (errno != EINTR) {
            add("no word from A");
            break;
        }
    }
    if (open_fd(41)) add("fd 41 closed by A is still open here (two fd tables)");
    if (!open_fd(42)) add("fd 42 made by A is not here (two fd tables)");
    put("v-B", verdict[0] ? verdict : "PASS\n");
    return verdict[0] ? 1 : 0;
}

/* What a child wrote to DIR/NAME, for P's verdict. */
static const char *report(const char *name) {
    static char text[2048];
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    snprintf(text, sizeof text, "%s missing", name);
    FILE *f = fopen(p, "r");
    if (f) {
        if (!fgets(text, sizeof text, f)) snprintf(text, sizeof text, "%s empty", name);
        fclose(f);
    }
    return text;
}

int main(int argc, char **argv) {
    workload_init(argc, argv);
    snprintf(who, sizeof who, "P");
    char path[4200];
    snprintf(path, sizeof path, "%s/data", dir);
    F = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (F < 0 || dup2(F, 41) != 41 || pipe(tell)) return 2;
    static char sa_stack[128 * 1024], sb_stack[128 * 1024];
    pid_t a = clone(child_a, sa_stack + sizeof sa_stack, CLONE_FILES | SIGCHLD, NULL);
    pid_t b = clone(child_b, sb_stack + sizeof sb_stack, CLONE_FILES | SIGCHLD, NULL);
    if (a < 0 || b < 0) return 2;
    if (unshare(CLONE_FILES) || close(41)) return 2;
    char text[64];
    snprintf(text, sizeof text, "%d %d %d\n", getpid(), a, b);
    put("pids", text);
    snprintf(text, sizeof text, "%d\n", getpid());
    put("ready", text);
    while (!stop) pause();

    kill(a, SIGTERM);
    int sta = 0, stb = 0;
    if (waitpid(a, &sta, 0) != a || !WIFEXITED(sta) || WEXITSTATUS(sta)) add(report("v-A"));
    if (waitpid(b, &stb, 0) != b || !WIFEXITED(stb) || WEXITSTATUS(stb)) add(report("v-B"));
    if (open_fd(41)) add("fd 41, closed by P, is open again");
    if (open_fd(42)) add("fd 42 made by A is in P's table (P's table is its children's)");
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}

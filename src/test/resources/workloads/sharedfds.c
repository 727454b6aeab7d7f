/*
 * sharedfds: open files shared by a parent P and its child C across fork, as a shell leaves
 * them to a pipeline.
 *
 *   fd F: DIR/data opened by P before the fork: one open file description, one offset (2 at start)
 *   pipe: P keeps the read end, C the write end; C writes "queued" into it before ready, which P
 *         leaves unread until the end (data in flight at the dump)
 *   socketpair: P keeps one end, C the other (the way P tells C to check, and C answers)
 *   pipe Q: held by both (both ends in both), P writes "both" into it before ready
 *
 * Mode "clonefiles": C is made with clone(CLONE_FILES) instead of fork: one fd table for both.
 * Then, after the restore, P closes fd 41 (a dup of F both see) before asking C, C checks that
 * fd 41 is gone and makes fd 42 (a dup of Q's read end), and P checks that fd 42 is there: fds
 * opened and closed by one task are seen by the other, as with one table (not two copies).
 *
 * On SIGTERM P asks C over the socket; C checks that F's offset is still 2, reads 2 bytes through
 * F (moving the shared offset to 4), writes "ping" into the pipe, reads "both" from Q, and
 * answers "ok" (or what differs) and exits 0. P then checks that F's offset is 4 (shared), that
 * the pipe gives "queuedping", waits for C's exit status, and writes DIR/verdict.
 * DIR/pids holds "P C".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "workload.h"

static int F, pr, pw, sp, sc, qr, qw;
static int clonefiles;

static int child(void *arg) {
    (void)arg;
    char msg[512] = "", buf[64];
    if (!clonefiles) {
        close(pr);
        close(sp);
    }
    if (write(pw, "queued", 6) != 6) return 3;
    char c;
    while (read(sc, &c, 1) != 1) {
        if (errno != EINTR) return 4;
    }
    off_t at = lseek(F, 0, SEEK_CUR);
    if (at != 2) snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "C: offset of F is %ld, not 2; ", (long)at);
    if (read(F, buf, 2) != 2 || memcmp(buf, "23", 2)) snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "C: F does not read 23; ");
    if (write(pw, "ping", 4) != 4) snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "C: pipe write: %s; ", strerror(errno));
    int n = read(qr, buf, 4);
    if (n != 4 || memcmp(buf, "both", 4)) snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "C: Q gave %d bytes; ", n);
    if (clonefiles) {
        if (fcntl(41, F_GETFD) != -1 || errno != EBADF) snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "C: fd 41 closed by P is still open here (two fd tables); ");
        if (dup2(qr, 42) != 42) snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "C: dup2 to 42: %s; ", strerror(errno));
    }
    if (!msg[0]) strcpy(msg, "ok");
    if (write(sc, msg, strlen(msg)) < 0) return 5;
    return 0;
}

int main(int argc, char **argv) {
    workload_init(argc, argv);
    clonefiles = argc > 2 && !strcmp(argv[2], "clonefiles");
    char path[4200];
    snprintf(path, sizeof path, "%s/data", dir);
    F = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (F < 0 || write(F, "0123456789", 10) != 10 || lseek(F, 2, SEEK_SET) != 2) return 2;
    int p[2], s[2], q[2];
    if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s) || pipe(q)) return 2;
    pr = p[0], pw = p[1], sp = s[0], sc = s[1], qr = q[0], qw = q[1];
    if (write(qw, "both", 4) != 4) return 2;
    if (clonefiles && dup2(F, 41) != 41) return 2;
    pid_t c;
    if (clonefiles) {
        static char stack[256 * 1024];
        c = clone(child, stack + sizeof stack, CLONE_FILES | SIGCHLD, NULL);
    } else {
        c = fork();
        if (c == 0) _exit(child(NULL));
    }
    if (c < 0) return 2;
    if (!clonefiles) {
        close(pw);
        close(sc);
    }
    /* "queued" is in the pipe before the tree counts as ready */
    while (1) {
        int n = 0;
        if (ioctl(pr, FIONREAD, &n) == 0 && n >= 6) break;
        usleep(1000);
    }
    char text[64];
    snprintf(text, sizeof text, "%d %d\n", getpid(), c);
    put("pids", text);
    snprintf(text, sizeof text, "%d\n", getpid());
    put("ready", text);
    while (!stop) pause();

    if (clonefiles && close(41)) snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "P: close(41): %s; ", strerror(errno));
    if (write(sp, "g", 1) != 1) snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "P: socket write: %s; ", strerror(errno));
    char ans[512] = "";
    int n = read(sp, ans, sizeof ans - 1);
    if (n <= 0 || strcmp(ans, "ok")) snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "%s; ", n > 0 ? ans : "C never answered");
    char buf[64] = "";
    int got = 0;
    while (got < 10) {
        int r = read(pr, buf + got, 10 - got);
        if (r <= 0) break;
        got += r;
    }
    if (got != 10 || memcmp(buf, "queuedping", 10)) snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "P: pipe gave '%.*s'; ", got, buf);
    if (clonefiles && fcntl(42, F_GETFD) < 0) snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "P: fd 42 made by C is not here (two fd tables); ");
    off_t at = lseek(F, 0, SEEK_CUR);
    if (at != 4) snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "P: offset of F is %ld, not 4 (not shared with C); ", (long)at);
    int st;
    if (waitpid(c, &st, __WALL) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "P: C ended with status 0x%x; ", st);
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}

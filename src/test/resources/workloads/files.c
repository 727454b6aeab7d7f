/*
 * files DIR: fds of every kind the files layer handles, each with state that must survive:
 * a regular file at a position (fd 5), the same open file dup'ed (fd 6 shares its position),
 * an O_APPEND file (fd 7), a close-on-exec fd (fd 8), a directory (fd 9), /dev/zero (fd 10),
 * and a pipe with both ends in the task (fds 11, 12) holding unread bytes. On SIGTERM it checks
 * them all.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workload.h"

static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

static void place(int fd, int want) {
    if (fd != want) { dup2(fd, want); close(fd); }
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char p[4200], buf[64];
    snprintf(p, sizeof p, "%s/data", dir);
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (write(fd, "0123456789abcdef", 16) != 16) return 2;
    lseek(fd, 10, SEEK_SET);
    place(fd, 5);
    dup2(5, 6);
    snprintf(p, sizeof p, "%s/log", dir);
    place(open(p, O_WRONLY | O_CREAT | O_APPEND, 0644), 7);
    snprintf(p, sizeof p, "%s/data", dir);
    place(open(p, O_RDONLY), 8);
    fcntl(8, F_SETFD, FD_CLOEXEC); /* dup2 in place() clears it */
    place(open(dir, O_RDONLY | O_DIRECTORY), 9);
    place(open("/dev/zero", O_RDONLY), 10);
    int pp[2];
    if (pipe(pp)) return 2;
    place(pp[0], 11);
    place(pp[1], 12);
    if (write(12, "queued", 6) != 6) return 2;  /* bytes in the pipe at dump time */
    ready_then_wait();

    if (lseek(5, 0, SEEK_CUR) != 10) fail("fd 5 is not at position 10");
    if (read(6, buf, 2) != 2 || memcmp(buf, "ab", 2)) fail("fd 6 does not read 'ab' at the shared position");
    if (lseek(5, 0, SEEK_CUR) != 12) fail("fds 5 and 6 no longer share one position");
    if (!(fcntl(7, F_GETFL) & O_APPEND)) fail("fd 7 lost O_APPEND");
    if (write(7, "x", 1) != 1) fail("fd 7 cannot write");
    if (!(fcntl(8, F_GETFD) & FD_CLOEXEC)) fail("fd 8 lost FD_CLOEXEC");
    if (fcntl(5, F_GETFD) & FD_CLOEXEC) fail("fd 5 became close-on-exec");
    struct stat st;
    if (fstat(9, &st) || !S_ISDIR(st.st_mode)) fail("fd 9 is not a directory");
    if (read(10, buf, 4) != 4 || buf[0] || buf[3]) fail("fd 10 does not read zeros");
    if (write(12, "pipe", 4) != 4) fail("cannot write the pipe at fd 12");
    if (read(11, buf, 10) != 10 || memcmp(buf, "queuedpipe", 10)) fail("fd 11 does not read the queued bytes then what fd 12 wrote");
    if ((fcntl(11, F_GETFL) & O_ACCMODE) != O_RDONLY || (fcntl(12, F_GETFL) & O_ACCMODE) != O_WRONLY) fail("pipe ends swapped");
    for (int f = 13; f < 64; f++) if (fcntl(f, F_GETFD) != -1) { snprintf(buf, sizeof buf, "stray fd %d", f); fail(buf); }
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}

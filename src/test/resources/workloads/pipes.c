/*
 * pipes DIR: pipes and FIFOs holding data, as they must be after a restore:
 *   fds 10,11  a pipe whose capacity was raised to 1 MiB (F_SETPIPE_SZ) holding 64 KiB of a
 *              known pattern; the write end is O_NONBLOCK
 *   fds 12,13  an empty pipe with its default capacity
 *   fds 14,15  the FIFO DIR/fifo opened for reading (O_NONBLOCK) and for writing, holding
 *              "fifo-data"
 *   fd 16      the same FIFO opened read-write
 *   fds 17,18  an empty pipe whose capacity was raised to 256 KiB
 * On SIGTERM it checks them all and writes DIR/verdict.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workload.h"

#define BIG (64 * 1024)
static unsigned char pattern(int i) { return (unsigned char)(i * 7 + i / 251); }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char buf[512];
    static unsigned char big[BIG];
    for (int i = 0; i < BIG; i++) big[i] = pattern(i);

    int pp[2];
    if (pipe(pp)) return 2;
    place_fd(pp[0], 10, "open");
    place_fd(pp[1], 11, "open");
    if (fcntl(11, F_SETPIPE_SZ, 1 << 20) < 0) { perror("F_SETPIPE_SZ"); return 2; }
    fcntl(11, F_SETFL, O_NONBLOCK);
    if (write(11, big, BIG) != BIG) { perror("write"); return 2; }

    if (pipe(pp)) return 2;
    place_fd(pp[0], 12, "open");
    place_fd(pp[1], 13, "open");

    char fifo[4200];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    if (mkfifo(fifo, 0600)) { perror("mkfifo"); return 2; }
    place_fd(open(fifo, O_RDONLY | O_NONBLOCK), 14, "open");
    place_fd(open(fifo, O_WRONLY), 15, "open");
    place_fd(open(fifo, O_RDWR), 16, "open");
    if (write(15, "fifo-data", 9) != 9) return 2;
    if (pipe(pp)) return 2;
    place_fd(pp[0], 17, "open");
    place_fd(pp[1], 18, "open");
    if (fcntl(18, F_SETPIPE_SZ, 256 * 1024) < 0) { perror("F_SETPIPE_SZ"); return 2; }

    ready_then_wait();

    int sz = fcntl(10, F_GETPIPE_SZ);
    if (sz != 1 << 20) { snprintf(buf, sizeof buf, "pipe 10/11 capacity %d, want %d", sz, 1 << 20); fail_also(buf); }
    if (!(fcntl(11, F_GETFL) & O_NONBLOCK)) fail_also("fd 11 lost O_NONBLOCK");
    if (fcntl(10, F_GETFL) & O_NONBLOCK) fail_also("fd 10 became O_NONBLOCK");
    fcntl(10, F_SETFL, O_NONBLOCK);
    static unsigned char got[2 * BIG];
    int n = 0, r;
    while ((r = read(10, got + n, sizeof got - n)) > 0) n += r;
    if (n != BIG) { snprintf(buf, sizeof buf, "pipe 10 held %d bytes, want %d", n, BIG); fail_also(buf); }
    else if (memcmp(got, big, BIG)) fail_also("pipe 10 data differs");
    if (write(11, "more", 4) != 4 || read(10, buf, 4) != 4 || memcmp(buf, "more", 4)) fail_also("pipe 10/11 does not carry new data");

    if (fcntl(12, F_GETPIPE_SZ) != 65536) fail_also("pipe 12/13 capacity changed");
    if (write(13, "x", 1) != 1 || read(12, buf, 1) != 1 || buf[0] != 'x') fail_also("pipe 12/13 broken");

    struct stat st;
    if (fstat(14, &st) || !S_ISFIFO(st.st_mode)) fail_also("fd 14 is not a FIFO");
    if ((fcntl(14, F_GETFL) & O_ACCMODE) != O_RDONLY || (fcntl(15, F_GETFL) & O_ACCMODE) != O_WRONLY
        || (fcntl(16, F_GETFL) & O_ACCMODE) != O_RDWR) fail_also("FIFO access modes changed");
    n = read(14, buf, sizeof buf);
    if (n != 9 || memcmp(buf, "fifo-data", 9)) { snprintf(buf, sizeof buf, "FIFO held %d bytes, want fifo-data", n); fail_also(buf); }
    if (write(15, "again", 5) != 5 || read(16, buf, 5) != 5 || memcmp(buf, "again", 5)) fail_also("FIFO does not carry new data");
    struct stat s2;
    if (stat(fifo, &s2) || s2.st_ino != st.st_ino) fail_also("fd 14 is not the FIFO at DIR/fifo");

    sz = fcntl(17, F_GETPIPE_SZ);
    if (sz != 256 * 1024) { snprintf(buf, sizeof buf, "empty pipe 17/18 capacity %d, want %d", sz, 256 * 1024); fail_also(buf); }

    for (int f = 19; f < 64; f++) if (fcntl(f, F_GETFD) != -1) { snprintf(buf, sizeof buf, "stray fd %d", f); fail_also(buf); }
    strcat(verdict, "\n");
    put("verdict", verdict[0] != '\n' ? verdict : "PASS\n");
    return 0;
}

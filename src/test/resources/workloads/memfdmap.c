/*
 * memfdmap DIR MODE: mappings of memfds and of unlinked files, in a parent R and its child C.
 * DIR/pids holds "R C", DIR/ready R's pid. On SIGTERM R forwards it to C, waits for C's verdict
 * (its exit status), checks its own side (its private mapping's untouched page 2 must show C's write to the file) and
 * writes DIR/verdict.
 *
 * MODE memfd: memfd "jcriu-map" (4 pages + 100 bytes, sealed F_SEAL_GROW|F_SEAL_SHRINK), mapped
 *   MAP_SHARED twice (whole, and from page 1) and MAP_PRIVATE (page 2 written: copied on write).
 *   R closes its fd after the fork; C keeps the fd (inherited) and the mappings. After restore C
 *   checks the patterns, its fd and the seals, then writes a marker through its fd and one through
 *   its mapping, which R must both see in its own mapping (one memfd, reached by fd and by mapping).
 * MODE unlinked: DIR/file (3 pages) mapped MAP_SHARED (written through the mapping) and
 *   MAP_PRIVATE (page 1 written), then unlinked and its fd closed in both tasks. After restore C writes a marker
 *   through its shared mapping, which R must see, and R's private page must still be its own.
 * MODE linked: as unlinked, but DIR/keep, a second hard link, keeps the file (dumped with
 *   --link-remap): R must also read C's write through DIR/keep (the same inode, not a copy).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "workload.h"

#define PG 4096UL

static int same(const unsigned char *p, unsigned long n, int seed) {
    for (unsigned long i = 0; i < n; i++) if (p[i] != (unsigned char)(i * 7 + seed)) return 0;
    return 1;
}

static void fill(unsigned char *p, unsigned long n, int seed) {
    for (unsigned long i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + seed);
}

static int fail(const char *what) {
    snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    int memfd = !strcmp(argv[2], "memfd"), linked = !strcmp(argv[2], "linked");
    unsigned long size = memfd ? 4 * PG + 100 : 3 * PG;
    char path[4200];
    char keep[4200];
    snprintf(path, sizeof path, "%s/file", dir);
    snprintf(keep, sizeof keep, "%s/keep", dir);
    int fd = memfd ? memfd_create("jcriu-map", MFD_ALLOW_SEALING) : open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, size)) return 3;
    unsigned char *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    unsigned char *sh1 = memfd ? mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PG) : NULL;
    unsigned char *pr = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (sh == MAP_FAILED || sh1 == MAP_FAILED || pr == MAP_FAILED) return 4;
    fill(sh, size, 1);
    fill(pr + PG, PG, 9); /* copied on write: the file keeps pattern 1 there */
    if (memfd && fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK)) return 5;
    if (linked && link(path, keep)) return 5;
    if (!memfd && unlink(path)) return 5;
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    int up[2];
    if (pipe(up)) return 6;
    pid_t c = fork();
    if (c == 0) {
        close(up[0]);
        if (!memfd) close(fd);
        if (write(up[1], "x", 1) != 1) _exit(7);
        while (!stop) pause();
        if (!same(sh, 2 * PG, 1) || !same(sh + 3 * PG, size - 3 * PG, (int)(3 * PG * 7 + 1) & 0xff)) _exit(10);
        if (!same(pr + PG, PG, 9) || !same(pr, PG, 1)) _exit(11);
        if (memfd) {
            if (sh1[0] != sh[PG] || sh1[PG - 1] != sh[2 * PG - 1]) _exit(12);
            if (lseek(fd, 0, SEEK_END) != (off_t)size) _exit(13);
            if (fcntl(fd, F_GET_SEALS) != (F_SEAL_GROW | F_SEAL_SHRINK)) _exit(14);
            if (pwrite(fd, "by fd", 6, 10) != 6) _exit(15);
            if (memcmp(sh + 10, "by fd", 6)) _exit(16); /* fd and mapping: one memfd */
        }
        memcpy(sh + 2 * PG, "child was here", 15);
        if (memfd && memcmp(sh1 + PG, "child was here", 15)) _exit(17); /* two mappings: one memfd */
        _exit(0);
    }
    close(up[1]);
    close(fd);
    char x;
    if (read(up[0], &x, 1) != 1) return 8;
    char buf[128];
    snprintf(buf, sizeof buf, "%d %d\n", getpid(), c);
    put("pids", buf);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    while (!stop) pause();
    kill(c, SIGTERM);
    int st;
    if (waitpid(c, &st, 0) != c) fail("waitpid");
    else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        snprintf(buf, sizeof buf, "child check failed (status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -st);
        fail(buf);
    } else if (memcmp(sh + 2 * PG, "child was here", 15)) fail("the child's write after restore is not in the parent's mapping");
    else if (memfd && memcmp(sh + 10, "by fd", 6)) fail("the child's write through its fd is not in the parent's mapping");
    else if (!same(pr + PG, PG, 9)) fail("the parent's private page changed");
    else if (memcmp(pr + 2 * PG, "child was here", 15)) fail("the private mapping's untouched page does not follow the file");
    else if (linked) {
        char got[16] = {0};
        int k = open(keep, O_RDONLY);
        if (k < 0 || pread(k, got, 15, 2 * PG) != 15 || memcmp(got, "child was here", 15)) fail("the child's write is not in DIR/keep");
        if (k >= 0) close(k);
    }
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}

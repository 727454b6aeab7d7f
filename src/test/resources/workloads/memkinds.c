/*
 * memkinds DIR: memory of every kind the memory dump treats differently, each with content
 * that must survive: anonymous data made PROT_NONE (only /proc/PID/mem can read it), read-only
 * anonymous data, pages only ever read (the shared zero page, not saved), a private file
 * mapping written to (copied on write: saved), a shared file mapping written to (its data is
 * the file's, not saved), a MAP_GROWSDOWN area, and two anonymous areas that touch without
 * being one (the second moved there by mremap, as glibc's realloc does: its page offset is not
 * the one that would continue the first, so the kernel keeps them apart). On SIGTERM it checks
 * them all.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "workload.h"

#define PG 4096
static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

static void fill(unsigned char *p, size_t n, int seed) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 13 + seed);
}

static int same(const unsigned char *p, size_t n, int seed) {
    for (size_t i = 0; i < n; i++) if (p[i] != (unsigned char)(i * 13 + seed)) return 0;
    return 1;
}

static void *file_map(const char *name, int flags, int seed) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
    unsigned char buf[4 * PG];
    fill(buf, sizeof buf, seed);
    if (write(fd, buf, sizeof buf) != sizeof buf) exit(2);
    void *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, flags, fd, 0);
    close(fd);
    return m;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    unsigned char *none = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(none, 8 * PG, 1);
    mprotect(none, 8 * PG, PROT_NONE);
    unsigned char *ro = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(ro, 4 * PG, 2);
    mprotect(ro, 4 * PG, PROT_READ);
    volatile unsigned char *zero = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned sum = 0;
    for (int i = 0; i < 16; i++) sum += zero[i * PG];
    unsigned char *priv = file_map("private.dat", MAP_PRIVATE, 3);
    fill(priv + PG, PG, 33);            /* page 1 copied on write; pages 0, 2, 3 stay the file's */
    unsigned char *shared = file_map("shared.dat", MAP_SHARED, 4);
    fill(shared + 2 * PG, PG, 44);      /* written through to the file */
    unsigned char *down = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
    fill(down, 4 * PG, 5);
    /* 3 pages reserved, the last given back, then filled by a page moved from elsewhere */
    unsigned char *pair = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *moved = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(moved, PG, 6);
    munmap(pair + 2 * PG, PG);
    if (mremap(moved, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, pair + 2 * PG) != pair + 2 * PG) return 2;
    fill(pair, 2 * PG, 7);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    char buf[512];
    snprintf(buf, sizeof buf, "none %lx\nzero %lx\nprivate %lx\nshared %lx\n", (unsigned long)none,
             (unsigned long)zero, (unsigned long)priv, (unsigned long)shared);
    put("addrs", buf);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    while (!stop) pause();

    mprotect(none, 8 * PG, PROT_READ);
    if (!same(none, 8 * PG, 1)) fail("PROT_NONE data");
    if (!same(ro, 4 * PG, 2)) fail("read-only anonymous data");
    for (int i = 0; i < 16 * PG; i++) if (zero[i]) { fail("zero pages are not zero"); break; }
    if (!same(priv, PG, 3) || !same(priv + 2 * PG, 2 * PG, 3 + 2 * PG * 13)) fail("private file pages not written");
    if (!same(priv + PG, PG, 33)) fail("private file page copied on write");
    if (!same(shared + 2 * PG, PG, 44)) fail("shared file page");
    if (!same(down, 4 * PG, 5)) fail("MAP_GROWSDOWN area");
    if (!same(pair, 2 * PG, 7) || !same(pair + 2 * PG, PG, 6)) fail("anonymous areas moved next to each other");
    (void)sum;
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}

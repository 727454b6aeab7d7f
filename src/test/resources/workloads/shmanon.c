/*
 * shmanon DIR: shared anonymous memory. One 16-page object mapped twice (the second mapping made
 * by mremap with old size 0, which maps the same object again), the first mapping split by
 * mprotect (pages 4-5 read-only) and with page 8 unmapped; pages 0-5 and 12 written, page 14
 * written through the second mapping only, the rest never touched. A second object of 4 pages
 * is never written at all. On SIGTERM checks the contents and that both mappings still show
 * the same memory.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "workload.h"

#define PG 4096UL

static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

static unsigned char want(unsigned long page, unsigned long b) {
    if (page <= 5 || page == 12 || page == 14) return (unsigned char)(page * 11 + b * 3 + 1);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    unsigned char *a = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    unsigned char *b = mremap(a, 0, 16 * PG, MREMAP_MAYMOVE);
    unsigned char *idle = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED || b == MAP_FAILED || idle == MAP_FAILED) return 3;
    for (unsigned long p = 0; p < 16; p++) {
        if (p == 14 || !want(p, 0)) continue;
        for (unsigned long i = 0; i < PG; i++) a[p * PG + i] = want(p, i);
    }
    for (unsigned long i = 0; i < PG; i++) b[14 * PG + i] = want(14, i);
    mprotect(a + 4 * PG, 2 * PG, PROT_READ);
    munmap(a + 8 * PG, PG);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    char buf[64];
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    while (!stop) pause();

    for (unsigned long p = 0; p < 16 && !verdict[0]; p++) {
        for (unsigned long i = 0; i < PG; i++) {
            if (b[p * PG + i] != want(p, i)) { snprintf(buf, sizeof buf, "page %lu through the second mapping", p); fail(buf); break; }
            if (p != 8 && a[p * PG + i] != want(p, i)) { snprintf(buf, sizeof buf, "page %lu through the first mapping", p); fail(buf); break; }
        }
    }
    for (unsigned long i = 0; i < 4 * PG; i++) if (idle[i]) { fail("untouched object not zero"); break; }
    a[7 * PG] = 0x5a;
    if (b[7 * PG] != 0x5a) fail("the two mappings are not one object any more");
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}

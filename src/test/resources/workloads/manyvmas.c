/*
 * manyvmas DIR [N]: N (default 10000) one-page VMAs made by alternating protections over one
 * anonymous mapping (read-write, read-only, read-write, ...; the kernel cannot merge neighbours
 * with different protections), each page holding its own number. Also a sparse area of 256
 * pages, its address in DIR/sparse: every 16th page written, the page after each one only read
 * (the shared zero page), the rest never touched; only the 16 written pages belong in a dump.
 * On SIGTERM checks every page.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "workload.h"

#define PG 4096UL

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
    unsigned char *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 3;
    for (unsigned long i = 0; i < n; i++) {
        memcpy(p + i * PG, &i, sizeof i);
        p[i * PG + PG - 1] = (unsigned char)i;
    }
    for (unsigned long i = 1; i < n; i += 2) if (mprotect(p + i * PG, PG, PROT_READ)) return 4;
    volatile unsigned char *sparse = mmap(NULL, 256 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned sum = 0;
    for (unsigned long i = 0; i < 256; i += 16) {
        sparse[i * PG + 5] = (unsigned char)(i + 1);
        sum += sparse[(i + 1) * PG];
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%lx\n", (unsigned long)sparse);
    put("sparse", buf);
    ready_then_wait();
    for (unsigned long i = 0; i < n; i++) {
        unsigned long v;
        memcpy(&v, p + i * PG, sizeof v);
        if (v != i || p[i * PG + PG - 1] != (unsigned char)i) {
            snprintf(verdict, sizeof verdict, "FAIL page %lu holds %lu\n", i, v);
            break;
        }
    }
    for (unsigned long i = 0; i < 256 && !verdict[0]; i++) {
        for (unsigned long b = 0; b < PG; b++) {
            unsigned char want = (i % 16 == 0 && b == 5) ? (unsigned char)(i + 1) : 0;
            if (sparse[i * PG + b] != want) { snprintf(verdict, sizeof verdict, "FAIL sparse page %lu\n", i); break; }
        }
    }
    (void)sum;
    if (!verdict[0] && mprotect(p + PG, PG, PROT_READ | PROT_WRITE)) snprintf(verdict, sizeof verdict, "FAIL mprotect\n");
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}

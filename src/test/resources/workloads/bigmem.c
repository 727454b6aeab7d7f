/*
 * bigmem DIR MiB: touches MiB mebibytes of anonymous memory with a pattern (for dump throughput),
 * writes DIR/ready, sleeps; on SIGTERM verifies the pattern and writes DIR/verdict.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "workload.h"


int main(int argc, char **argv) {
    if (argc < 3) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    size_t len = (size_t)atol(argv[2]) << 20;
    char buf[256];
    unsigned long *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return 2;
    size_t words = len / sizeof(unsigned long);
    for (size_t i = 0; i < words; i++) mem[i] = i * 0x9E3779B97F4A7C15UL;
    ready_then_wait();
    for (size_t i = 0; i < words; i++)
        if (mem[i] != i * 0x9E3779B97F4A7C15UL) {
            snprintf(buf, sizeof buf, "FAIL word %zu\n", i);
            put("verdict", buf);
            return 1;
        }
    put("verdict", "PASS\n");
    return 0;
}

/*
 * swapped DIR MiB: maps 2 x MiB of private anonymous memory, fills the first half with a pattern
 * and pushes it out to swap (MADV_PAGEOUT), never touches the second half; does the same with
 * MiB of shared anonymous memory (a shmem object, whose swapped pages are in no page table);
 * writes DIR/ready and sleeps without reading the patterns (a read would swap them back in).
 * On SIGTERM it checks the patterns and that the untouched half reads as zeroes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "workload.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    size_t len = (size_t)atol(argv[2]) << 20;
    char buf[256];
    unsigned long *mem = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return 2;
    size_t words = len / sizeof(unsigned long);
    for (size_t i = 0; i < words; i++) mem[i] = (i + 1) * 0x9E3779B97F4A7C15UL;
    if (madvise(mem, len, MADV_PAGEOUT)) {
        perror("madvise(MADV_PAGEOUT)");
        return 2;
    }
    unsigned long *shm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED) return 2;
    for (size_t i = 0; i < words; i++) shm[i] = (i + 7) * 0xC2B2AE3D27D4EB4FUL;
    if (madvise(shm, len, MADV_PAGEOUT)) {
        perror("madvise(MADV_PAGEOUT) shared");
        return 2;
    }
    ready_then_wait();
    for (size_t i = 0; i < words; i++)
        if (mem[i] != (i + 1) * 0x9E3779B97F4A7C15UL) {
            snprintf(buf, sizeof buf, "FAIL word %zu is %lx\n", i, mem[i]);
            put("verdict", buf);
            return 1;
        }
    for (size_t i = 0; i < words; i++)
        if (shm[i] != (i + 7) * 0xC2B2AE3D27D4EB4FUL) {
            snprintf(buf, sizeof buf, "FAIL shared word %zu is %lx\n", i, shm[i]);
            put("verdict", buf);
            return 1;
        }
    for (size_t i = words; i < 2 * words; i++)
        if (mem[i]) {
            snprintf(buf, sizeof buf, "FAIL untouched word %zu is %lx\n", i, mem[i]);
            put("verdict", buf);
            return 1;
        }
    put("verdict", "PASS\n");
    return 0;
}

/*
 * predump DIR MiB [STRIDE]: MiB mebibytes of anonymous memory, every word a function of its page's
 * number and that page's generation. Each SIGUSR1 is one round: the pages whose number is round
 * modulo STRIDE (default 16: 1/16 of them) move to the next generation, and DIR/changed gets the round number. On
 * SIGTERM every word is checked against its page's generation; DIR/verdict says PASS with the
 * rounds seen, or the first word that differs.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "workload.h"

#define WORDS_PER_PAGE 512
static volatile sig_atomic_t usr1;
static void on_usr1(int s) { (void)s; usr1 = 1; }

static unsigned long word(size_t page, size_t j, unsigned gen) {
    return ((page * WORDS_PER_PAGE + j) * 0x9E3779B97F4A7C15UL) ^ ((unsigned long)gen * 0xC2B2AE3D27D4EB4FUL);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    size_t len = (size_t)atol(argv[2]) << 20;
    size_t pages = len / 4096;
    size_t stride = argc > 3 ? (size_t)atol(argv[3]) : 16;
    char buf[256];
    unsigned long *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *gen = calloc(pages, 1);
    if (mem == MAP_FAILED || !gen) return 2;
    for (size_t i = 0; i < pages; i++)
        for (size_t j = 0; j < WORDS_PER_PAGE; j++) mem[i * WORDS_PER_PAGE + j] = word(i, j, 0);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    unsigned round = 0;
    while (!stop) {
        pause();
        if (usr1) {
            usr1 = 0;
            for (size_t i = round % stride; i < pages; i += stride) {
                gen[i]++;
                for (size_t j = 0; j < WORDS_PER_PAGE; j++) mem[i * WORDS_PER_PAGE + j] = word(i, j, gen[i]);
            }
            round++;
            snprintf(buf, sizeof buf, "%u\n", round);
            put("changed", buf);
        }
    }
    for (size_t i = 0; i < pages; i++)
        for (size_t j = 0; j < WORDS_PER_PAGE; j++)
            if (mem[i * WORDS_PER_PAGE + j] != word(i, j, gen[i])) {
                snprintf(buf, sizeof buf, "FAIL page %zu word %zu (generation %u)\n", i, j, gen[i]);
                put("verdict", buf);
                return 1;
            }
    snprintf(buf, sizeof buf, "PASS rounds=%u\n", round);
    put("verdict", buf);
    return 0;
}

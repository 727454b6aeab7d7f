/*
 * fpu: spins in user space with known values held in SSE registers (never spilled to memory,
 * the empty asm forces them to live in xmm registers across every iteration) and checks them
 * on every turn. A dump catches it between two instructions, not in a syscall, so the FPU/SSE
 * state must come back exactly. Protocol as every workload: DIR/ready, SIGTERM -> DIR/verdict.
 */
#include <emmintrin.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "workload.h"


int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    __m128d a = _mm_set_pd(1.5, -2.25), b = _mm_set_pd(3.0e100, 7.0);
    __m128i c = _mm_set_epi32(0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00);
    long turns = 0, bad = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    while (!stop) {
        __asm__ volatile("" : "+x"(a), "+x"(b), "+x"(c));
        double lo, hi, blo, bhi;
        _mm_storel_pd(&lo, a); _mm_storeh_pd(&hi, a); _mm_storel_pd(&blo, b); _mm_storeh_pd(&bhi, b);
        if (lo != -2.25 || hi != 1.5 || blo != 7.0 || bhi != 3.0e100 || _mm_cvtsi128_si32(c) != (int)0xddeeff00) bad++;
        turns++;
    }
    snprintf(buf, sizeof buf, bad ? "FAIL %ld of %ld turns saw other register values\n" : "PASS turns=%ld\n", bad ? bad : turns, turns);
    put("verdict", buf);
    return bad != 0;
}

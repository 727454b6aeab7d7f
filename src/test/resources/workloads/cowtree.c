/*
 * cowtree DIR: a parent whose 64 MiB of private anonymous memory is shared copy-on-write with
 * its four children and a grandchild, each of which changed a few pages of it.
 *
 *   R fills every page of the area, forks C1..C4, then changes pages p % 512 == 200 itself
 *   Ck changes pages p % 512 == k; C2 also drops pages 1000..1015 (MADV_DONTNEED: zero again)
 *   C1 forks G after its own changes; G changes pages p % 512 == 100
 *
 * Every task knows what each page must hold (want[], outside the area) and keeps checking a
 * slice of the area every 10 ms. DIR/pids holds "R C1 C2 C3 C4 G", DIR/ready R's pid. On SIGTERM
 * R forwards it to the children (C1 to G), every task checks the whole area, a child writes
 * DIR/verdict-ROLE and exits 0 if all is right, and R writes DIR/verdict: "PASS" or "FAIL ...".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "workload.h"

#define PG 4096UL
#define NPAGES 16384UL /* 64 MiB */
#define ZERO 0xff

static uint64_t *area;
static unsigned char want[NPAGES];
static const char *role = "R";
static int bad;

static uint64_t word(unsigned long p, unsigned tag) { return (uint64_t)p << 16 | (uint64_t)tag << 8 | 0x5a; }

static void fill(unsigned long p, unsigned tag) {
    uint64_t *w = area + p * (PG / 8), v = word(p, tag);
    for (unsigned long i = 0; i < PG / 8; i++) w[i] = v;
    want[p] = tag;
}

static void complain(const char *fmt, unsigned long a, unsigned long b, unsigned long c) {
    char buf[256];
    snprintf(buf, sizeof buf, fmt, a, b, c);
    if (strlen(verdict) + strlen(buf) < sizeof verdict - 1) strcat(verdict, buf);
    bad = 1;
}

static void check(unsigned long from, unsigned long to) {
    for (unsigned long p = from; p < to; p++) {
        uint64_t *w = area + p * (PG / 8), v = want[p] == ZERO ? 0 : word(p, want[p]);
        for (unsigned long i = 0; i < PG / 8; i++) {
            if (w[i] != v) {
                if (!bad) complain("page %lu word %lu is %lx; ", p, i, (unsigned long)w[i]);
                bad = 1;
                break;
            }
        }
    }
}

/* Checks a slice every 10 ms until SIGTERM, then everything. */
static void watch(void) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    unsigned long next = 0;
    while (!stop) {
        check(next, next + 256);
        next = (next + 256) % NPAGES;
        nanosleep(&ts, NULL);
    }
    check(0, NPAGES);
}

static int reap(pid_t pid, const char *who) {
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {}
    if (r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s ended with status 0x%x; ", who, r == pid ? st : -1);
    if (strlen(verdict) + strlen(buf) < sizeof verdict - 1) strcat(verdict, buf);
    return 1;
}

static void end_child(void) {
    char name[64], out[sizeof verdict + 16];
    snprintf(name, sizeof name, "verdict-%s", role);
    snprintf(out, sizeof out, "%s %s\n", bad ? "FAIL" : "PASS", verdict);
    put(name, out);
    _exit(bad);
}

int main(int argc, char **argv) {
    workload_init(argc, argv);
    area = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) return 3;
    for (unsigned long p = 0; p < NPAGES; p++) fill(p, 1);

    pid_t kids[5] = {0};
    static const char *names[] = {"", "C1", "C2", "C3", "C4"};
    for (int k = 1; k <= 4; k++) {
        kids[k] = fork();
        if (kids[k] < 0) return 4;
        if (kids[k] > 0) continue;
        role = names[k];
        for (unsigned long p = k; p < NPAGES; p += 512) fill(p, 10 + k);
        if (k == 2) {
            if (madvise((char *)area + 1000 * PG, 16 * PG, MADV_DONTNEED)) _exit(5);
            memset(want + 1000, ZERO, 16);
        }
        pid_t g = 0;
        if (k == 1) {
            g = fork();
            if (g == 0) {
                role = "G";
                for (unsigned long p = 100; p < NPAGES; p += 512) fill(p, 20);
                put("started-G", "1\n");
                watch();
                end_child();
            }
            char buf[32];
            snprintf(buf, sizeof buf, "%d\n", g);
            put("pid-G", buf);
        }
        char name[32];
        snprintf(name, sizeof name, "started-%s", role);
        put(name, "1\n");
        watch();
        if (g > 0) {
            kill(g, SIGTERM);
            bad |= reap(g, "G");
        }
        end_child();
    }
    for (unsigned long p = 200; p < NPAGES; p += 512) fill(p, 2);
    for (int k = 1; k <= 4; k++) {
        char name[32];
        snprintf(name, sizeof name, "started-%s", names[k]);
        wait_file(name);
    }
    wait_file("started-G");
    wait_file("pid-G");
    char buf[256], path[4200];
    snprintf(path, sizeof path, "%s/pid-G", dir);
    FILE *f = fopen(path, "r");
    int g = 0;
    if (!f || fscanf(f, "%d", &g) != 1) return 6;
    fclose(f);
    snprintf(buf, sizeof buf, "%d %d %d %d %d %d\n", getpid(), kids[1], kids[2], kids[3], kids[4], g);
    put("pids", buf);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);

    watch();
    int fail = bad;
    for (int k = 1; k <= 4; k++) kill(kids[k], SIGTERM);
    for (int k = 1; k <= 4; k++) fail |= reap(kids[k], names[k]);
    char out[sizeof verdict + 16];
    snprintf(out, sizeof out, "%s %s\n", fail ? "FAIL" : "PASS", verdict);
    put("verdict", out);
    return fail;
}

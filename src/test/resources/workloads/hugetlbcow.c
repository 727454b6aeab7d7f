/*
 * hugetlbcow DIR: 3 huge pages of private MAP_HUGETLB memory written by a parent before it forks;
 * the child then writes into huge page 1 (copied on write), pages 0 and 2 stay shared with the
 * parent. Needs 4 free 2 MiB huge pages. DIR/pids holds "R C", DIR/addr the mapping, DIR/ready
 * R's pid. On SIGTERM R forwards it to C; both check their pages and R writes DIR/verdict.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "workload.h"
#include "hugepage.h"

static void fill(unsigned char *p, int seed) {
    for (unsigned long i = 0; i < HP; i++) p[i] = (unsigned char)(i * 7 + seed);
}

static int same(const unsigned char *p, int seed) {
    for (unsigned long i = 0; i < HP; i++) if (p[i] != (unsigned char)(i * 7 + seed)) return 0;
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    unsigned char *m = mmap(NULL, 3 * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (m == MAP_FAILED) { perror("mmap MAP_HUGETLB"); return 3; }
    fill(m, 1);
    fill(m + HP, 2);
    fill(m + 2 * HP, 3);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    int up[2];
    if (pipe(up)) return 4;
    pid_t c = fork();
    if (c == 0) {
        close(up[0]);
        fill(m + HP, 4);
        if (write(up[1], "x", 1) != 1) _exit(5);
        while (!stop) pause();
        _exit(same(m, 1) && same(m + HP, 4) && same(m + 2 * HP, 3) ? 0 : 1);
    }
    close(up[1]);
    char x;
    if (read(up[0], &x, 1) != 1) return 6;
    char buf[128];
    snprintf(buf, sizeof buf, "%lx\n", (unsigned long)m);
    put("addr", buf);
    put_pids_ready(c);
    while (!stop) pause();
    int st = term_child(c);
    if (st < 0) snprintf(verdict, sizeof verdict, "FAIL waitpid\n");
    else if (st) snprintf(verdict, sizeof verdict, "FAIL the child saw wrong huge pages (status %d)\n", st);
    else if (!same(m, 1) || !same(m + HP, 2) || !same(m + 2 * HP, 3)) snprintf(verdict, sizeof verdict, "FAIL the parent's huge pages\n");
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
